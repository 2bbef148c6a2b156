"""``gradtui launch``: its options (steps, seed, speed, a recording) and the app they start."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gradtui.commands.app_status import app_status
from gradtui.scenario.spec import Catalog, discover, resolve
from gradtui.text import safe_line

DEFAULT_SPEED = 25.0


def add_parser(commands: Any) -> None:
    launch = commands.add_parser("launch", help="open the live dashboard (the picker, or NAME)")
    launch.add_argument("scenario", metavar="NAME", nargs="?", help="skip the picker, run this")
    launch.add_argument("--steps", type=int, help="override the scenarios' step count")
    launch.add_argument("--seed", type=int, help="override the scenarios' data seed")
    launch.add_argument(
        "--speed",
        type=speed_option,
        default=DEFAULT_SPEED,
        metavar="STEPS_PER_S",
        help=f"steps shown per second, or 'max' (default {DEFAULT_SPEED})",
    )
    launch.add_argument(
        "--record", type=Path, metavar="FILE", help="write NAME's run as JSON Lines as it trains"
    )
    launch.add_argument("--force", action="store_true", help="let --record replace a file")


def speed_option(text: str) -> float | None:
    if text == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or 'max': {text!r}") from None
    if not 0 < speed < 1e6:
        raise argparse.ArgumentTypeError("give a speed above 0 steps per second, or 'max'")
    return speed


def launch(args: argparse.Namespace) -> int:
    from gradtui.ui.app import GradApp  # textual loads here; torch only in the worker process

    catalog = overridden(discover(args.scenarios), args.steps, args.seed)
    start = []
    if args.scenario:
        start = [resolve(args.scenario, args.scenarios).with_overrides(args.steps, args.seed)]
    if args.record is None:
        app = GradApp(catalog, start=start, speed=args.speed)
        return signal_status(app, app_status(app))
    if not start:
        return say("launch --record needs a scenario NAME: the run to record", 2)
    from gradtui.recording import Recorder
    from gradtui.ui.recorded_source import recording_first

    recorder = Recorder(args.record, args.force)  # refused here, before the screen, if taken
    app = GradApp(catalog, start=start, speed=args.speed, make_source=recording_first(recorder))
    status = app_status(app)
    recorder.close()  # already closed when the run ended; a second close does nothing
    return signal_status(app, status)


def signal_status(app: Any, status: int) -> int:
    """128 + N when signal N closed the app (it quit as by q), else the app's own status."""
    signum = getattr(app, "quit_by_signal", None)
    return 128 + signum if signum else status


def overridden(catalog: Any, steps: int | None, seed: int | None) -> Any:
    """The catalog with --steps / --seed applied to every scenario the picker offers."""
    if steps is None and seed is None:
        return catalog
    scenarios = {
        name: (spec.with_overrides(steps, seed), path)
        for name, (spec, path) in catalog.scenarios.items()
    }
    return Catalog(scenarios, catalog.skipped)


def say(line: str, code: int) -> int:
    print(f"gradtui: {safe_line(line, 400)}", file=sys.stderr)
    return code
