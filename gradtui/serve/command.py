"""``gradtui serve [launch [NAME] | replay FILE... | attach FILE] [--host H] [--port N]
[--allow-origin ORIGIN]... [--max-sessions N]``: check the app's arguments here, in the
terminal, before any browser sees a failure."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

APPS = ("launch", "replay", "attach")
SERVER_OPTIONS = ("--host", "--port", "--max-sessions", "--allow-origin")
REPEATED = ("--allow-origin",)


def split_options(words: list[str]) -> tuple[list[str], dict[str, Any]]:
    """Take the server's options out of the app's words, wherever they stand: ``host``,
    ``port``, ``max_sessions`` (the last one given) and ``allow_origin`` (a list)."""
    app, options, rest = [], {}, list(words)
    while rest:
        word = rest.pop(0)
        name, eq, value = word.partition("=")
        if name not in SERVER_OPTIONS:
            app.append(word)
            continue
        if not eq:
            if not rest:
                raise ValueError(f"{name} needs a value")
            value = rest.pop(0)
        key = name[2:].replace("-", "_")
        if name in REPEATED:
            options.setdefault(key, []).append(value)
        else:
            options[key] = value
    return app, options


def server_options(args: argparse.Namespace, options: dict[str, Any]) -> dict[str, Any]:
    """The server's settings, from before the app's name and after it; ValueError when wrong."""
    port = _number(options.get("port", args.port or 0), "--port", 0)
    sessions = _number(options.get("max_sessions", args.max_sessions), "--max-sessions", 1)
    origins = [*(args.allow_origin or []), *options.get("allow_origin", [])]
    from gradtui.serve.guard import origin_of

    for origin in origins:
        origin_of(origin)  # ValueError naming the bad one
    host = options.get("host", args.host)
    return {"host": host, "port": port or None, "allow_origins": origins, "max_sessions": sessions}


def _number(value: Any, name: str, least: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} takes a whole number, not {value!r}") from None
    if number < least or number > 65535:
        raise ValueError(f"{name} takes a number from {least} to 65535, not {number}")
    return number


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
        settings = server_options(args, options)
        words = app_arguments(args, parser)
    except ValueError as exc:
        print(f"gradtui serve: {exc}", file=sys.stderr)
        return 2
    try:
        from gradtui.serve.server import serve
    except ImportError:
        print("gradtui serve needs textual-serve: pip install 'gradtui[serve]'", file=sys.stderr)
        return 2
    return serve(words, **settings)
