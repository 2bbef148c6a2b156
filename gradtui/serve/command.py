"""``gradtui serve [launch [NAME] | replay FILE... | attach FILE] [--host H] [--port N]``:
check the app's arguments here, in the terminal, before any browser sees a failure."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

APPS = ("launch", "replay", "attach")


def split_options(words: list[str]) -> tuple[list[str], dict[str, str]]:
    """Take ``--host``/``--port`` out of the app's words, wherever they stand."""
    app, options, rest = [], {}, list(words)
    while rest:
        word = rest.pop(0)
        name, eq, value = word.partition("=")
        if name in ("--host", "--port"):
            if not eq:
                if not rest:
                    raise ValueError(f"{name} needs a value")
                value = rest.pop(0)
            options[name[2:]] = value
        else:
            app.append(word)
    return app, options


def app_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[str]:
    """The words of one app process's command line, checked and with absolute paths."""
    app = args.app or ["launch"]
    if app[0] not in APPS:
        raise ValueError(f"serve runs one of {', '.join(APPS)}, not {app[0]!r}")
    checked = parser.parse_args(app)  # exits with argparse's usage line when wrong
    words = [app[0]]
    if app[0] == "launch":
        if checked.scenario:
            from gradtui.scenario.spec import resolve

            resolve(checked.scenario, args.scenarios)  # ScenarioError: one line, from main
            words.append(checked.scenario)
    else:
        for path in checked.files:
            if not path.exists() and not any(path.parent.glob(f"{path.stem}.rank*{path.suffix}")):
                raise ValueError(f"{path}: no such recording")
        words += [str(path.resolve()) for path in checked.files]
    scenarios = [w for d in args.scenarios for w in ("--scenarios", str(Path(d).resolve()))]
    return scenarios + words


def run_serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        args.app, options = split_options(list(args.app))
        host = options.get("host", args.host)
        port = int(options.get("port", args.port or 0))
        words = app_arguments(args, parser)
    except ValueError as exc:
        print(f"gradtui serve: {exc}", file=sys.stderr)
        return 2
    try:
        from gradtui.serve.server import serve
    except ImportError:
        print("gradtui serve needs textual-serve: pip install 'gradtui[serve]'", file=sys.stderr)
        return 2
    return serve(words, host, port or None)
