"""How long a rank spends between steps, for the rank-skew finding (diagnosis/rank_skew).

In a distributed run the ranks meet at every step's collectives, so a rank that takes longer
to load its batch, or runs code the others do not (logging, checkpoints, evaluation on rank
0), makes all of them wait: every rank's step takes as long as the slowest's, and only the
time outside the step tells which rank it was. A single process has no one waiting, and
records nothing."""

from __future__ import annotations

import time


class StepClock:
    """The time from the end of one step to the next step's first forward."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._ended: float | None = None
        self._began: float | None = None

    def forward(self) -> None:
        """A forward pass began; only a step's first one counts (micro-batches follow)."""
        if self.enabled and self._began is None:
            self._began = time.perf_counter()

    def ended(self) -> None:
        """The step was measured, or its optimizer stepped: the latest of these counts."""
        if self.enabled:
            self._ended = time.perf_counter()

    def outside(self) -> float | None:
        """Seconds outside the step that is being measured now; None when not known."""
        began, self._began = self._began, None
        if began is None or self._ended is None:
            return None
        return max(0.0, began - self._ended)
