"""Train a scenario without a screen: progress on stderr, events to a report and a recording."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from gradtui.diagnosis import Diagnoser
from gradtui.events import Event, StepStats
from gradtui.recording import Recorder
from gradtui.report.build import build_report
from gradtui.scenario.spec import ScenarioSpec


class Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, total: int) -> None:
        self.total = max(total, 1)
        self._last = 0.0

    def __call__(self, event: Event) -> None:
        if not isinstance(event, StepStats):
            return
        now = time.monotonic()
        done = event.step + 1
        if now - self._last < 0.1 and done < self.total:
            return
        self._last = now
        filled = int(30 * done / self.total)
        bar = "#" * filled + "." * (30 - filled)
        sys.stderr.write(f"\r[{bar}] {done}/{self.total}  loss {event.loss:.4g}   ")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")


def run_headless(
    spec: ScenarioSpec, record: Path | None = None, progress: bool = False
) -> dict[str, Any]:
    import torch

    from gradtui.scenario.loop import run

    # The scenarios' networks are small: one thread runs them fastest (threads spin and wait
    # on matrices this size), and the dashboard's worker uses one too, so a headless run and a
    # live one give the same numbers.
    torch.set_num_threads(1)
    events: list[Event] = []
    diagnoser = Diagnoser()  # live, as the dashboard does: one event at a time
    sinks = [events.append, diagnoser.observe]
    recorder = Recorder(record) if record else None
    bar = Progress(spec.train.steps) if progress else None
    if recorder:
        sinks.append(recorder)
    if bar:
        sinks.append(bar)

    def emit(event: Event) -> None:
        for sink in sinks:
            sink(event)

    try:
        run(spec, emit)
    finally:
        if recorder:
            recorder.close()
        if bar:
            bar.close()
    return build_report(events, diagnoser.diagnoses(), diagnoser.links(), diagnoser.layer_status())
