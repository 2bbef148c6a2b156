"""Command-line entry points: parse arguments, call into the package.

Heavy imports (torch, textual) happen inside the commands that need them, so
``gradtui --help`` and ``gradtui list`` answer at once.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from gradtui import cli_launch as launch_command
from gradtui.cli_parser import build_parser, checked_command
from gradtui.commands.app_status import app_status
from gradtui.events import at_least
from gradtui.scenario.spec import ScenarioError, discover, resolve
from gradtui.text import safe_line


def main(argv: Sequence[str] | None = None) -> int:
    """The exit status: 0 fine; 1 a training that raised, or a finding at --fail-on; 2 an
    unusable input; 128 + N after signal N (130 for ctrl-c, 141 when stdout's reader left)."""
    try:
        status = _dispatch(argv)
        sys.stdout.flush()  # here, so a reader that left (| head) is seen while we can act
    except BrokenPipeError:
        return _reader_left()
    return status


def _reader_left() -> int:
    """stdout's reader is gone: say nothing more, and let interpreter exit flush to nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + 13  # as a shell reports a process ended by SIGPIPE


def _dispatch(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(checked_command(parser, argv))
    if args.command is None:
        parser.error("a command is needed (see gradtui --help)")
    args.scenarios = [*args.scenarios, *getattr(args, "scenarios_after", [])]
    command = {
        "list": _list,
        "run": _run,
        "launch": _launch,
        "replay": _replay,
        "report": _report,
        "attach": _attach,
        "check": _check,
        "learn": _learn,
        "sweep": _sweep,
        "serve": _serve,
    }[args.command]
    from gradtui.recording.parser import RecordingError

    try:
        return command(args)
    except (ScenarioError, RecordingError) as exc:  # unusable input: a bad file or argument
        return _say(str(exc), 2)
    except KeyboardInterrupt:
        return 130


def _say(line: str, code: int = 0) -> int:
    """One terminal-safe line on stderr; returns ``code``."""
    print(f"gradtui: {safe_line(line, 400)}", file=sys.stderr)
    return code


def _list(args: argparse.Namespace) -> int:
    catalog = discover(args.scenarios)
    width = max((len(name) for name in catalog.scenarios), default=0)
    for name, (spec, _path) in sorted(catalog.scenarios.items()):
        print(f"{name:<{width}}  {safe_line(spec.title, 100)}")
    if catalog.skipped:
        print(f"\nskipped {len(catalog.skipped)} file(s):")
        for skipped in catalog.skipped:
            print(f"  {safe_line(skipped.reason, 300)}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from gradtui.recording.target import check_target
    from gradtui.scenario.headless import run_headless
    from gradtui.stopping import StopSignals

    spec = resolve(args.scenario, args.scenarios).with_overrides(args.steps, args.seed)
    if args.record:
        check_target(args.record, args.force)  # before torch loads and training starts
    problems: list[str] = []

    def warn(line: str) -> None:
        problems.append(line)
        _say(line)

    with StopSignals(wait=True) as stop:
        report = run_headless(
            spec,
            record=args.record,
            progress=sys.stderr.isatty(),
            force=args.force,
            should_stop=lambda: stop.received is not None,
            warn=warn,
            keep_every_step=args.keep_every_step,
        )
    if args.json:
        print(json.dumps(report, allow_nan=False))
    else:
        from gradtui.report.build import format_report

        print(format_report(report))
    if stop.received is not None:
        return _say(
            f"stopped by signal {stop.received} after {report['steps_run']} steps", stop.exit_status
        )
    if report["error"]:
        error = report["error"]
        return _say(f"the training raised at step {error['step']} ({error['type']}): failed", 1)
    return 2 if problems else _exit_code(report, args.fail_on)


def _launch(args: argparse.Namespace) -> int:
    return launch_command.launch(args)


def _replay(args: argparse.Namespace) -> int:
    from gradtui.recording import RecordingError
    from gradtui.recording.paths import expand
    from gradtui.recording.reader import read_run

    groups = expand(args.files)
    if len(groups) == 1 and len(groups[0]) > 1:  # a run's rank files: as one run
        from gradtui.ui.attach import AttachApp

        return app_status(AttachApp(groups[0], catalog=discover(args.scenarios)))
    if len(args.files) > 2:
        print("gradtui: replay takes one file, or two to compare", file=sys.stderr)
        return 2
    try:
        loaded = [read_run(path) for path in args.files]
    except RecordingError as exc:
        return _say(str(exc), 2)
    for warning in (w for item in loaded for w in item.warnings):
        _say(warning)
    from gradtui.ui.app import GradApp

    return app_status(
        GradApp(discover(args.scenarios), replays=[i.events for i in loaded], own_runs=True)
    )


def _report(args: argparse.Namespace) -> int:
    from gradtui.recording import RecordingError
    from gradtui.recording.paths import expand
    from gradtui.report.recorded import format_run_report, report_files

    reports = []
    try:
        for group in expand(args.files):
            run = report_files(group)
            for warning in run.warnings:
                _say(warning)
            reports.append(run.report)
    except RecordingError as exc:
        return _say(str(exc), 2)
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
        _say(f"waiting for {names} to appear (ctrl-c to give up)")
        while not any(path.exists() for group in groups for path in group):
            time.sleep(0.5)
            groups = expand(args.files)
    if len(groups) != 1:
        print("gradtui: attach follows one run (its rank files count as one)", file=sys.stderr)
        return 2
    from gradtui.ui.attach import AttachApp

    return app_status(AttachApp(groups[0], catalog=discover(args.scenarios)))


def _check(args: argparse.Namespace) -> int:
    from gradtui.commands import check as check_command

    return check_command.run(args)


def _learn(args: argparse.Namespace) -> int:
    from gradtui.commands import learn as learn_command

    return learn_command.learn(args)


def _sweep(args: argparse.Namespace) -> int:
    from gradtui.commands import learn as learn_command

    return learn_command.sweep(args)


def _serve(args: argparse.Namespace) -> int:
    from gradtui.serve.command import run_serve

    return run_serve(args, build_parser())


def _exit_code(report: dict, fail_on: str | None) -> int:
    if fail_on is None:
        return 0
    return 1 if any(at_least(d["severity"], fail_on) for d in report["diagnoses"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
