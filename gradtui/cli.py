"""Command-line entry points: parse arguments, call into the package.

Heavy imports (torch, textual) happen inside the commands that need them, so
``gradtui --help`` and ``gradtui list`` answer at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from gradtui.scenario.spec import SCENARIOS_ENV, ScenarioError, discover, resolve

FAIL_ON = ("warning", "error")


def _parser() -> argparse.ArgumentParser:
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
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser("list", help="list the scenarios, and the files that were skipped")

    run = commands.add_parser("run", help="train a scenario headless and print a report")
    run.add_argument("scenario", metavar="NAME_OR_PATH")
    run.add_argument("--steps", type=int, help="override the scenario's step count")
    run.add_argument("--seed", type=int, help="override the scenario's data seed")
    run.add_argument("--json", action="store_true", help="print the report as one JSON object")
    run.add_argument("--record", type=Path, metavar="FILE", help="write the run as JSON Lines")
    run.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        help="exit 1 when a diagnosis of this severity or worse fired",
    )
    launch = commands.add_parser("launch", help="open the live dashboard (the picker, or NAME)")
    launch.add_argument("scenario", metavar="NAME", nargs="?", help="skip the picker, run this")
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
    serve = commands.add_parser(
        "serve", help="the dashboard in a browser: serve launch [NAME] | replay FILE | attach FILE"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: a free one)")
    serve.add_argument(
        "app", nargs=argparse.REMAINDER, metavar="launch [NAME] | replay FILE | attach FILE"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 0
    command = {
        "list": _list,
        "run": _run,
        "launch": _launch,
        "replay": _replay,
        "report": _report,
        "attach": _attach,
        "serve": _serve,
    }[args.command]
    try:
        return command(args)
    except ScenarioError as exc:
        print(f"gradtui: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _list(args: argparse.Namespace) -> int:
    catalog = discover(args.scenarios)
    width = max((len(name) for name in catalog.scenarios), default=0)
    for name, (spec, _path) in sorted(catalog.scenarios.items()):
        print(f"{name:<{width}}  {spec.title}")
    if catalog.skipped:
        print(f"\nskipped {len(catalog.skipped)} file(s):")
        for skipped in catalog.skipped:
            print(f"  {skipped.reason}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from gradtui.scenario.headless import run_headless

    spec = resolve(args.scenario, args.scenarios).with_overrides(args.steps, args.seed)
    report = run_headless(spec, record=args.record, progress=sys.stderr.isatty())
    if args.json:
        print(json.dumps(report, allow_nan=False))
    else:
        from gradtui.report.build import format_report

        print(format_report(report))
    return _exit_code(report, args.fail_on)


def _launch(args: argparse.Namespace) -> int:
    from gradtui.ui.app import GradApp  # textual loads here; torch only in the worker process

    catalog = discover(args.scenarios)
    start = [resolve(args.scenario, args.scenarios)] if args.scenario else []
    GradApp(catalog, start=start).run()
    return 0


def _replay(args: argparse.Namespace) -> int:
    from gradtui.recording.lines import RecordingError, read_recording

    if len(args.files) > 2:
        print("gradtui: replay takes one file, or two to compare", file=sys.stderr)
        return 2
    try:
        loaded = [read_recording(path) for path in args.files]
    except RecordingError as exc:
        print(f"gradtui: {exc}", file=sys.stderr)
        return 2
    for warning in (item.warning for item in loaded if item.warning):
        print(f"gradtui: {warning}", file=sys.stderr)
    from gradtui.ui.app import GradApp

    GradApp(discover(args.scenarios), replays=[item.events for item in loaded]).run()
    return 0


def _report(args: argparse.Namespace) -> int:
    from gradtui.recording.lines import RecordingError
    from gradtui.recording.paths import expand
    from gradtui.report.recorded import format_run_report, load_run, report_run

    reports = []
    try:
        for group in expand(args.files):
            run = load_run(group)
            for warning in run.warnings:
                print(f"gradtui: {warning}", file=sys.stderr)
            reports.append(report_run(run))
    except RecordingError as exc:
        print(f"gradtui: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # a recording without a start event
        print(f"gradtui: {exc}", file=sys.stderr)
        return 2
    if args.json:
        out = reports[0] if len(reports) == 1 else reports
        print(json.dumps(out, allow_nan=False))
    else:
        print("\n\n".join(format_run_report(report) for report in reports))
    return max(_exit_code(report, args.fail_on) for report in reports)


def _attach(args: argparse.Namespace) -> int:
    import time

    from gradtui.recording.paths import expand

    groups = expand(args.files)
    if not any(path.exists() for group in groups for path in group):
        names = ", ".join(str(path) for path in args.files)
        print(f"gradtui: waiting for {names} to appear (ctrl-c to give up)", file=sys.stderr)
        while not any(path.exists() for group in groups for path in group):
            time.sleep(0.5)
            groups = expand(args.files)
    if len(groups) != 1:
        print("gradtui: attach follows one run (its rank files count as one)", file=sys.stderr)
        return 2
    from gradtui.ui.attach import AttachApp

    AttachApp(groups[0], catalog=discover(args.scenarios)).run()
    return 0


def _serve(args: argparse.Namespace) -> int:
    from gradtui.serve.command import run_serve

    return run_serve(args, _parser())


def _exit_code(report: dict, fail_on: str | None) -> int:
    if fail_on is None:
        return 0
    worst = {"warning": ("warning", "error"), "error": ("error",)}[fail_on]
    return 1 if any(d["severity"] in worst for d in report["diagnoses"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
