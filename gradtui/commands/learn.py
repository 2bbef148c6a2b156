"""The ``gradtui learn`` and ``gradtui sweep`` commands: arguments in, the package called."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from gradtui.commands.app_status import app_status


def add_parsers(commands: Any) -> None:
    learn = commands.add_parser("learn", help="the course: the notes' ten practice items")
    learn.add_argument("--seed", type=int, help="run every experiment at this data seed")
    sweep = commands.add_parser(
        "sweep", help="one scenario at several learning rates, side by side (or --json)"
    )
    sweep.add_argument(
        "scenario",
        metavar="NAME_OR_PATH",
        help="a scenario's name (see gradtui list), or the path of a scenario .toml file",
    )
    sweep.add_argument("--lr", required=True, help="learning rates, e.g. 0.01,0.1,1")
    sweep.add_argument("--steps", type=int, help="override the scenario's step count")
    sweep.add_argument("--json", action="store_true", help="print the rows as JSON")
    sweep.add_argument("--live", action="store_true", help="watch them side by side")


def learn(args: argparse.Namespace) -> int:
    from gradtui.scenario.spec import discover
    from gradtui.ui.learn_app import LearnApp

    return app_status(LearnApp(discover(args.scenarios), seed=args.seed))


def sweep(args: argparse.Namespace) -> int:
    from gradtui.learn.sweep import format_sweep, parse_lrs, sweep_json, sweep_specs
    from gradtui.scenario.spec import resolve

    spec = resolve(args.scenario, args.scenarios).with_overrides(args.steps)
    specs = sweep_specs(spec, parse_lrs(args.lr))
    if args.live:
        from gradtui.scenario.spec import discover
        from gradtui.ui.app import GradApp

        return app_status(GradApp(discover(args.scenarios), start=specs))
    from gradtui.learn.sweep import run_sweep

    rows = run_sweep(specs)
    if args.json:
        print(json.dumps(sweep_json(spec.name, rows), allow_nan=False))
    else:
        print(format_sweep(spec.name, rows), file=sys.stdout)
    return 0
