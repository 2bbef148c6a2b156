"""What the UI remembers of one run: bounded histories built from the event stream. No torch.

Every event is absorbed (so every loss value and every diagnosis counts), but memory stays
bounded: sparklines keep the last few steps, and whole-run series are decimated.
"""

from __future__ import annotations

import itertools
import math
import time
from array import array
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Literal

from gradtui.diagnosis import Diagnoser
from gradtui.events import (
    Diagnosis,
    Event,
    LayerStatus,
    RunFailed,
    RunFinished,
    RunStarted,
    StepStats,
    most_severe_first,
)
from gradtui.ui.format import NONFINITE, ZERO, log10_of

SPARK_STEPS = 96  # recent steps in each layer's sparkline
SERIES_POINTS = 512  # points kept for a whole-run series (loss, heatmap columns)
RunState = Literal["starting", "running", "finished", "stopped", "diverged", "failed"]


def merge_logs(values: Sequence[float]) -> float:
    """One log10 value for a bucket: non-finite wins, then the mean of the numbers."""
    if any(v == NONFINITE for v in values):
        return NONFINITE
    numbers = [v for v in values if not math.isnan(v)]
    if not numbers:
        return math.nan
    if all(math.isinf(v) for v in numbers):
        return numbers[0]
    finite = [v for v in numbers if math.isfinite(v)]
    return sum(finite) / len(finite)


class Ring:
    """The last `size` floats, oldest first when iterated; no object per value kept."""

    def __init__(self, size: int = SPARK_STEPS) -> None:
        self.data = array("d", [math.nan]) * size
        self.size = size
        self.pos = 0
        self.count = 0

    def append(self, value: float) -> None:
        self.data[self.pos] = value
        self.pos = (self.pos + 1) % self.size
        self.count = min(self.count + 1, self.size)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[float]:
        start = self.pos - self.count
        return (self.data[(start + k) % self.size] for k in range(self.count))


class _Bucket:
    """merge_logs of each column over the rows added, kept as running sums."""

    def __init__(self, step: int, width: int) -> None:
        self.step = step
        self.rows = 0
        self.sums = [0.0] * width
        self.finite = [0] * width
        self.nonfinite = [False] * width
        self.zero = [False] * width

    def add(self, row: tuple[float, ...]) -> None:
        self.rows += 1
        for i, value in enumerate(row):
            if value == NONFINITE:
                self.nonfinite[i] = True
            elif value == ZERO:
                self.zero[i] = True
            elif value == value:  # not nan (missing)
                self.sums[i] += value
                self.finite[i] += 1

    def value(self) -> tuple[float, ...]:
        return tuple(
            NONFINITE if bad else (total / n if n else (ZERO if zero else math.nan))
            for total, n, bad, zero in zip(
                self.sums, self.finite, self.nonfinite, self.zero, strict=True
            )
        )


class Decimated:
    """A whole-run series in at most `cap` points: when full, neighbours merge pairwise."""

    def __init__(self, cap: int = SERIES_POINTS) -> None:
        self.cap = cap - cap % 2
        self.stride = 1  # steps per point
        self.steps: list[int] = []
        self.points: list[tuple[float, ...]] = []
        self._bucket: _Bucket | None = None

    def add(self, step: int, value: tuple[float, ...]) -> None:
        if self._bucket is None:
            self._bucket = _Bucket(step, len(value))
        self._bucket.add(value)
        if self._bucket.rows >= self.stride:
            self._commit()

    def _commit(self) -> None:
        assert self._bucket is not None
        self.steps.append(self._bucket.step)
        self.points.append(self._bucket.value())
        self._bucket = None
        if len(self.points) >= self.cap:
            self.steps = self.steps[::2]
            self.points = [_merge_rows(self.points[i : i + 2]) for i in range(0, self.cap, 2)]
            self.stride *= 2

    def view(self) -> tuple[list[int], list[tuple[float, ...]]]:
        """Committed points plus the partial bucket, so the newest step always shows."""
        if self._bucket is None:
            return self.steps, self.points
        return [*self.steps, self._bucket.step], [*self.points, self._bucket.value()]


def _merge_rows(rows: Sequence[tuple[float, ...]]) -> tuple[float, ...]:
    return tuple(merge_logs(column) for column in zip(*rows, strict=True))


_SERIALS = itertools.count()


class RunHistory:
    """The UI thread's picture of one run. `absorb` every event; read the fields to draw."""

    def __init__(self, live: bool = True, shown: bool = True) -> None:
        self.live = live
        # False for a run whose panels are not drawn (the other ranks of a distributed run,
        # whose norms are the lowest rank's): only the figures of the Ranks panel are kept,
        # and its own rules do not run; findings recorded in its stream still count.
        self.shown = shown
        self.started: RunStarted | None = None
        self.latest: StepStats | None = None
        self.chain_stats: StepStats | None = None  # latest step whose chain is all finite
        self.steps_seen = 0
        self.state: RunState = "starting"
        self.failure: RunFailed | None = None
        self.first_nonfinite_step: int | None = None
        self.sparks: list[Ring] = []
        self.heat = Decimated()  # per-layer log10 grad norm
        self.loss = Decimated()  # raw loss (log10 is taken when drawn)
        self.diagnoser = Diagnoser()
        # Findings recorded in the stream itself (a monitor's, a rank check's); our own
        # Diagnoser's are read from it, so that updates (worse severity, more layers) show.
        self._recorded: dict[tuple[str, tuple[str, ...]], Diagnosis] = {}
        self.unannounced: list[Diagnosis] = []
        self.version = 0  # bumped on every change; panels redraw when it moves
        self.serial = next(_SERIALS)  # tells one run's history from the next (restart)
        self._rate_marks: deque[tuple[float, int]] = deque(maxlen=64)

    @property
    def key(self) -> tuple[int, int]:
        """Changes whenever what a panel would draw may have changed."""
        return (self.serial, self.version)

    @property
    def findings_key(self) -> tuple[int, int, int]:
        """Changes whenever diagnoses() may have changed, escalations in place included."""
        return (self.serial, self.diagnoser.revision, len(self._recorded))

    @property
    def ended(self) -> bool:
        return self.state in ("finished", "stopped", "diverged", "failed")

    @property
    def total_steps(self) -> int:
        return self.started.total_steps if self.started else 0

    def absorb(self, event: Event) -> None:
        self.version += 1
        if self.shown:
            self.unannounced.extend(self.diagnoser.observe(event))
        if isinstance(event, StepStats):
            self._absorb_step(event)
        elif isinstance(event, RunStarted):
            self.started = event
            self.state = "running"
            self.sparks = [Ring() for _ in event.layers]
        elif isinstance(event, Diagnosis):
            self._add_recorded(event)
        elif isinstance(event, RunFinished):
            if event.reason == "nonfinite":
                self.state = "diverged"  # the trainer stopped it: the loss stayed NaN/inf
            else:
                self.state = "stopped" if event.stopped else "finished"
        elif isinstance(event, RunFailed):
            self.state = "failed"
            self.failure = event

    def _absorb_step(self, stats: StepStats) -> None:
        self.latest = stats
        self.steps_seen += 1
        if self.first_nonfinite_step is None and (
            not math.isfinite(stats.loss) or any(stats.nonfinite)
        ):
            self.first_nonfinite_step = stats.step
        if not self.shown:
            return
        chain = stats.block_grad_norm
        if chain is not None and all(g is None or math.isfinite(g) for g in chain):
            self.chain_stats = stats
        logs = tuple(log10_of(g) for g in stats.grad_norm)
        for spark, value in zip(self.sparks, logs, strict=False):
            spark.append(value)
        self.heat.add(stats.step, logs)
        self.loss.add(stats.step, (stats.loss,) if math.isfinite(stats.loss) else (NONFINITE,))

    def _add_recorded(self, diagnosis: Diagnosis) -> None:
        key = (diagnosis.kind, diagnosis.layers)
        if key not in self._recorded:
            self._recorded[key] = diagnosis
            self.unannounced.append(diagnosis)

    def diagnoses(self) -> list[Diagnosis]:
        """Every diagnosis so far in its latest form, most severe first, then by step."""
        own = self.diagnoser.diagnoses()
        kinds = {d.kind for d in own}
        recorded = [d for d in self._recorded.values() if d.kind not in kinds]
        return most_severe_first([*own, *recorded])

    def take_unannounced(self) -> list[Diagnosis]:
        new, self.unannounced = self.unannounced, []
        return new

    def layer_status(self) -> tuple[LayerStatus, ...]:
        return self.diagnoser.layer_status()

    def mark_rate(self, now: float | None = None) -> None:
        """Note the steps seen at this moment; call once per UI tick."""
        self._rate_marks.append((time.monotonic() if now is None else now, self.steps_seen))

    def steps_per_second(self) -> float | None:
        """Steps received per second over the last two seconds; None before there is a measure."""
        if len(self._rate_marks) < 2:
            return None
        end_time, end_steps = self._rate_marks[-1]
        for mark_time, mark_steps in self._rate_marks:  # noqa: B007 (the first recent mark)
            if end_time - mark_time <= 2.0:
                break
        if end_time - mark_time < 0.2:
            return None
        return (end_steps - mark_steps) / (end_time - mark_time)
