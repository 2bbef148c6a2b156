"""What the report keeps of a run, gathered one event at a time. No torch.

A run of a million steps is not held: per step the summary keeps the loss (8 bytes, the
report lists every loss) and, per layer, running figures (first, last, counts) and a sample
of the gradient norms for the median. The sample is exact up to MEDIAN_SAMPLE steps; past
that it keeps every k-th value (k doubling as needed), so memory stays bounded.
"""

from __future__ import annotations

import math
import statistics
from array import array
from typing import Any

from gradtui.events import Event, RunFailed, RunFinished, RunStarted, StepStats

MEDIAN_SAMPLE = 1 << 16


def finite_or_none(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return value


class Thinned:
    """Every value up to ``limit``; then every 2nd, 4th, ... so at most ``limit`` are kept."""

    def __init__(self, limit: int = MEDIAN_SAMPLE) -> None:
        self.limit = limit
        self.values = array("d")
        self._stride = 1
        self._seen = 0

    def add(self, value: float) -> None:
        if self._seen % self._stride == 0:
            self.values.append(value)
            if len(self.values) > self.limit:
                self.values = self.values[::2]
                self._stride *= 2
        self._seen += 1

    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None


class LayerSummary:
    def __init__(self, name: str) -> None:
        self.name = name
        self.first: float | None = None
        self.last: float | None = None
        self.finite = Thinned()
        self.nonfinite = 0
        self.weight_changed = False

    def add(self, norm: float | None, nonfinite: int, update_ratio: float) -> None:
        if norm is not None:
            if self.first is None:
                self.first = norm
            self.last = norm
            if math.isfinite(norm):
                self.finite.add(norm)
        self.nonfinite += nonfinite
        self.weight_changed = self.weight_changed or update_ratio != 0

    def as_dict(self, steps: int, status: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "grad_norm_first": finite_or_none(self.first),
            "grad_norm_last": finite_or_none(self.last),
            "grad_norm_median": self.finite.median(),
            "grad_none": steps > 0 and self.first is None,
            "nonfinite": self.nonfinite,
            "weight_changed": self.weight_changed,
            "status": status,
        }


class RunSummary:
    """Feed it a run's events (``observe``); ``parts()`` gives the report's run-level fields."""

    def __init__(self) -> None:
        self.started: RunStarted | None = None
        self.losses = array("d")
        self.layers: list[LayerSummary] = []
        self.steps_seen = 0
        self.steps_run: int | None = None  # from the end event
        self.error: dict[str, Any] | None = None
        self.stopped_reason = ""  # why the run ended itself early ("nonfinite"), if it did

    @property
    def ended(self) -> bool:
        return self.steps_run is not None

    def observe(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.started = event
            self.layers = [LayerSummary(layer.name) for layer in event.layers]
        elif isinstance(event, StepStats):
            self._step(event)
        elif isinstance(event, RunFinished):
            self.steps_run = event.steps_run
            self.stopped_reason = event.reason
        elif isinstance(event, RunFailed):
            self.steps_run = event.step
            self.error = {
                "step": event.step,
                "type": event.error_type,
                "message": event.message,
                "forward_trace": event.forward_trace,
            }

    def _step(self, stats: StepStats) -> None:
        self.steps_seen += 1
        self.losses.append(stats.loss)
        columns = zip(stats.grad_norm, stats.nonfinite, stats.update_ratio, strict=False)
        for layer, (norm, nonfinite, ratio) in zip(self.layers, columns, strict=False):
            layer.add(norm, nonfinite, ratio)

    def layer_dicts(self, status: list[str] | tuple[str, ...]) -> list[dict[str, Any]]:
        return [
            layer.as_dict(self.steps_seen, status[i] if i < len(status) else "ok")
            for i, layer in enumerate(self.layers)
        ]
