"""The command line's parser: its commands, their arguments and help, and the check that
names a mistyped command."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from pathlib import Path

from gradtui import cli_launch as launch_command
from gradtui.scenario.spec import SCENARIOS_ENV

FAIL_ON = ("warning", "error")
SCENARIO_HELP = "a scenario's name (see gradtui list), or the path of a scenario .toml file"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradtui",
        description="Watch backpropagation: per-layer gradients, the chain rule, and diagnoses.",
    )
    parser.add_argument(
        "--scenarios",
        metavar="DIR",
        action="append",
        type=Path,
        default=[],
        help=f"an extra folder of scenario files (repeatable; also ${SCENARIOS_ENV})",
    )
    parser.add_argument("--version", action="version", version=f"gradtui {package_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser("list", help="list the scenarios, and the files that were skipped")

    run = commands.add_parser("run", help="train a scenario headless and print a report")
    run.add_argument("scenario", metavar="NAME_OR_PATH", help=SCENARIO_HELP)
    run.add_argument("--steps", type=int, help="override the scenario's step count")
    run.add_argument("--seed", type=int, help="override the scenario's data seed")
    run.add_argument("--json", action="store_true", help="print the report as one JSON object")
    run.add_argument("--record", type=Path, metavar="FILE", help="write the run as JSON Lines")
    run.add_argument("--force", action="store_true", help="let --record replace an existing file")
    run.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        help="exit 1 when a diagnosis of this severity or worse fired",
    )
    launch_command.add_parser(commands)
    replay = commands.add_parser("replay", help="show a recorded run (from run --record)")
    replay.add_argument(
        "files", metavar="FILE", type=Path, nargs="+", help="one, or two side by side"
    )
    report = commands.add_parser(
        "report", help="print the report of recorded runs (gradtui.watch, run --record)"
    )
    report.add_argument(
        "files",
        metavar="FILE",
        type=Path,
        nargs="+",
        help="recordings; the rank files of a distributed run (or their common name, "
        "runs/x.jsonl for runs/x.rank*.jsonl) make one report",
    )
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        help="exit 1 when a diagnosis of this severity or worse fired",
    )
    attach = commands.add_parser(
        "attach", help="open the dashboard on a recording still being written, and follow it"
    )
    attach.add_argument(
        "files",
        metavar="FILE",
        type=Path,
        nargs="+",
        help="the recording (it may not exist yet); rank files, or their common name, side by side",
    )
    from gradtui.commands import check as check_command

    check_command.add_parser(commands)
    from gradtui.commands import learn as learn_command

    learn_command.add_parsers(commands)
    serve = commands.add_parser(
        "serve", help="the dashboard in a browser: serve launch [NAME] | replay FILE | attach FILE"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: a free one)")
    serve.add_argument(
        "--allow-origin",
        action="append",
        metavar="ORIGIN",
        help="also take sessions from pages of ORIGIN, e.g. https://proxy.example (repeatable)",
    )
    serve.add_argument(
        "--max-sessions", type=int, default=4, help="browser tabs served at once (4)"
    )
    serve.add_argument(
        "app",
        nargs=argparse.REMAINDER,
        metavar="launch [NAME] | replay FILE | attach FILE",
        help="what each browser tab runs, with that command's own arguments (default: launch)",
    )
    for command in commands.choices.values():  # --scenarios also after the command's name
        command.add_argument(
            "--scenarios",
            dest="scenarios_after",
            metavar="DIR",
            action="append",
            type=Path,
            default=[],
            help="an extra folder of scenario files (repeatable)",
        )
    return parser


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gradtui")
    except PackageNotFoundError:  # a checkout on PYTHONPATH, not installed
        return "(not installed)"


def checked_command(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> list[str]:
    """Exit 2 with a did-you-mean when the command word is not one gradtui knows."""
    words = list(sys.argv[1:] if argv is None else argv)
    commands = next(a.choices for a in parser._actions if isinstance(a.choices, dict))
    rest = iter(words)
    for word in rest:
        if word == "--scenarios":
            next(rest, None)
        elif not word.startswith("-"):
            if word not in commands:
                close = difflib.get_close_matches(word, list(commands), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                parser.error(f"unknown command {word!r}{hint}")
            break
    return words
