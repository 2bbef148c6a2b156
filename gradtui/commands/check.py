"""The ``gradtui check`` command: its arguments and its exit codes (0 pass, 1 fail, 2 input)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "check",
        help="run the quick checks on your model before a long run (FILE.py:make)",
        description="Import FILE.py, call make() (or FUNC), which returns "
        "(model, loss_fn, batch[, optimizer]), and run the quick checks on a copy. "
        "Exit 0: every check passed; 1: one failed; 2: the input could not be used.",
    )
    parser.add_argument(
        "target",
        metavar="FILE.py[:FUNC]",
        help="your Python file, and the function in it that builds the run (default: make)",
    )
    parser.add_argument("--json", action="store_true", help="print the checklist as JSON")
    parser.add_argument("--steps", type=int, default=300, help="steps of the tiny overfit")
    parser.add_argument("--examples", type=int, default=8, help="examples the overfit uses")


def run(args: argparse.Namespace) -> int:
    from gradtui.check.load import CheckInputError, load_target

    if args.steps < 1 or args.examples < 1:
        print("gradtui: check: --steps and --examples must be at least 1", file=sys.stderr)
        return 2
    try:
        model, loss_fn, batch, optimizer = load_target(args.target)
    except CheckInputError as exc:
        print(f"gradtui: {_clean(str(exc))}", file=sys.stderr)
        return 2
    from gradtui.check.run import check

    try:
        report = check(
            model, loss_fn, batch, optimizer, steps=args.steps, examples=args.examples, show=False
        )
    except CheckInputError as exc:
        print(f"gradtui: {args.target}: {_clean(str(exc))}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_dict(), allow_nan=False))
    else:
        print(_clean(str(report)))
    return 0 if report.ok else 1


def _clean(text: str) -> str:
    """Strip control characters (user text: names, messages) except newlines."""
    return "".join(ch for ch in text if ch == "\n" or (ch >= " " and ch != "\x7f"))
