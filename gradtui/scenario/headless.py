"""Train a scenario without a screen: progress on stderr, events to a report and a recording."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gradtui.diagnosis import Diagnoser
from gradtui.diagnosis.notes import thinning_note
from gradtui.events import Diagnosis, Event, RunFailed, RunFinished, StepStats
from gradtui.recording import Recorder
from gradtui.recording.codec import LAYER_DIGITS
from gradtui.recording.parser import shown
from gradtui.recording.writer import Thinning
from gradtui.report.build import report_of
from gradtui.report.summary import RunSummary
from gradtui.scenario.spec import ScenarioSpec

Findings = Callable[[], list[Diagnosis]]


class Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second: the steps done,
    the rate, and the time left at that rate."""

    def __init__(self, total: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = max(total, 1)
        self.clock = clock
        self._start: float | None = None
        self._last = 0.0

    def __call__(self, event: Event) -> None:
        if not isinstance(event, StepStats):
            return
        now = self.clock()
        if self._start is None:
            self._start = now  # rates count from the first step: torch's start-up is not a step
        done = event.step + 1
        if now - self._last < 0.1 and done < self.total:
            return
        self._last = now
        sys.stderr.write("\r" + self.line(done, event.loss, now - self._start))
        sys.stderr.flush()

    def line(self, done: int, loss: float, elapsed_s: float) -> str:
        filled = int(30 * done / self.total)
        bar = "#" * filled + "." * (30 - filled)
        rate = (done - 1) / elapsed_s if elapsed_s > 0 and done > 1 else None
        speed = f"{rate:.3g} steps/s" if rate else "- steps/s"
        eta = f"eta {_duration((self.total - done) / rate)}" if rate else "eta -"
        return f"[{bar}] {done}/{self.total}  {speed}  {eta}  loss {loss:.4g}   "

    def close(self) -> None:
        sys.stderr.write("\n")


def _duration(seconds: float) -> str:
    """12s, 3m05s, 2h10m."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def run_headless(
    spec: ScenarioSpec,
    record: Path | None = None,
    progress: bool = False,
    force: bool = True,
    should_stop: Callable[[], bool] = lambda: False,
    warn: Callable[[str], None] | None = None,
    keep_every_step: bool = False,
    thinning: Thinning | None = None,
) -> dict[str, Any]:
    """Train ``spec`` and return its report. The recording is opened (checked, locked) before
    torch loads, so a bad ``record`` path fails first (RecordingError). A write that fails
    later (a full disk) stops the recording with one ``warn`` line; training goes on. Memory
    stays bounded: the report keeps a summary (report.summary), not the events.

    The recording is thinned as ``gradtui.watch``'s is (``thinning``, by default Thinning():
    every step up to 10,000, then one in 16, plus every step that fired a finding, went
    non-finite or is heavy; per-layer values to 4 significant digits); ``keep_every_step``
    writes all of every step."""
    recording = open_recording(record, force, None if keep_every_step else thinning or Thinning())
    import torch

    from gradtui.scenario.loop import run

    # The scenarios' networks are small: one thread runs them fastest (threads spin and wait
    # on matrices this size), and the dashboard's worker uses one too, so a headless run and a
    # live one give the same numbers.
    torch.set_num_threads(1)
    summary = RunSummary()
    diagnoser = Diagnoser()  # live, as the dashboard does: one event at a time
    if recording:
        recording.guard(warn or _stderr)
    bar = Progress(spec.train.steps) if progress else None

    def emit(event: Event) -> None:
        summary.observe(event)
        fired = diagnoser.observe(event)
        if recording:
            recording(event, bool(fired), diagnoser.diagnoses)
        if bar:
            bar(event)

    try:
        run(spec, emit, should_stop)
    finally:
        if recording:
            recording.close()
        if bar:
            bar.close()
    return report_of(summary, diagnoser.diagnoses(), diagnoser.links(), diagnoser.layer_status())


def open_recording(
    record: Path | None, force: bool, thinning: Thinning | None
) -> RunRecording | None:
    if record is None:
        return None
    if thinning is None:
        return RunRecording(Recorder(record, force), None)
    recorder = Recorder(record, force, layer_digits=LAYER_DIGITS, header=thinning.header())
    return RunRecording(recorder, thinning)


class RunRecording:
    """What ``gradtui run --record`` writes: every event, or (with a Thinning) what the
    thinning keeps of the steps, as gradtui.watch's writer does (watch/consumer.py): the
    start, the end, every step that fired a finding, went non-finite or has the heavier
    statistics (every ``heavy_every``-th; watch's are every 16th, as its thinning keeps), and
    one note at the first step left out. A thinned recording also keeps the findings
    themselves, in their last form, just before the end event: rules that look at runs of
    steps cannot find them again in what is left (a reader that follows the file meanwhile
    finds what the kept steps show). Write errors go through a GuardedRecorder (``guard``)."""

    def __init__(self, recorder: Recorder, thinning: Thinning | None) -> None:
        self.recorder = recorder
        self.thinning = thinning
        self._write: Callable[[Event], None] = recorder
        self._closer: Callable[[], None] = recorder.close
        self.thinned_from: int | None = None  # the first step left out

    def guard(self, warn: Callable[[str], None]) -> None:
        guarded = GuardedRecorder(self.recorder, warn)
        self._write, self._closer = guarded, guarded.close

    def __call__(self, event: Event, fired: bool, findings: Findings) -> None:
        """``fired``: whether ``event`` fired a finding; ``findings``: every finding in its
        latest form, read at the run's end only."""
        if self.thinning is None:
            self._write(event)
        elif isinstance(event, StepStats):
            self._step(event, self.thinning, fired)
        else:
            if isinstance(event, RunFinished | RunFailed):
                for diagnosis in findings():
                    self._write(diagnosis)
            self._write(event)

    def _step(self, stats: StepStats, thinning: Thinning, fired: bool) -> None:
        if thinning.keeps(stats.step, fired or nonfinite(stats) or stats.is_heavy):
            self._write(stats)
        elif self.thinned_from is None:
            self.thinned_from = stats.step
            kept = f"{thinning.describe()}, or has the heavier statistics (chain gains)"
            self._write(thinning_note(kept, stats.step))

    def close(self) -> None:
        self._closer()


def nonfinite(stats: StepStats) -> bool:
    return not (math.isfinite(stats.loss) and math.isfinite(stats.grad_norm_total))


class GuardedRecorder:
    """A Recorder whose write errors (a full disk, a file system gone) end the recording with
    one line instead of ending the run with a traceback."""

    def __init__(self, recorder: Recorder, warn: Callable[[str], None]) -> None:
        self.recorder = recorder
        self.warn = warn
        self.failed = False

    def __call__(self, event: Event) -> None:
        if self.failed:
            return
        try:
            self.recorder(event)
        except OSError as exc:
            self._fail(exc)

    def close(self) -> None:
        try:
            self.recorder.close()
        except OSError as exc:
            if not self.failed:
                self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        self.failed = True
        self.warn(
            f"{shown(self.recorder.path)}: cannot write: {exc.strerror or exc}; "
            "the recording stops here, training goes on"
        )


def _stderr(line: str) -> None:
    print(f"gradtui: {line}", file=sys.stderr)
