"""Robust bands for spike detection: a value far above the median of its recent past.

A band keeps the last SPIKE_WINDOW finite values. A value is out of it when it is both
SPIKE_RATIO times the median and SPIKE_Z robust deviations above it (the median absolute
deviation scaled by 1.4826, which equals the standard deviation for normal noise). The median
is recomputed every SPIKE_REFRESH values only, so a check on an ordinary step is one
comparison; the exact test runs only for a value past the cheap bound.
"""

from __future__ import annotations

import math
import statistics
from collections import deque

from gradtui.diagnosis import thresholds as T

_MAD_TO_SIGMA = 1.4826


class Band:
    def __init__(self, ratio: float) -> None:
        self.ratio = ratio
        self.values: deque[float] = deque(maxlen=T.SPIKE_WINDOW)
        self._median: float | None = None
        self._since_refresh = 0

    def add(self, value: float | None) -> None:
        if value is None or not math.isfinite(value):
            return
        self.values.append(value)
        self._since_refresh += 1
        if self._median is None or self._since_refresh >= T.SPIKE_REFRESH:
            self._median = statistics.median(self.values)
            self._since_refresh = 0

    @property
    def ready(self) -> bool:
        return len(self.values) >= T.SPIKE_MIN_HISTORY

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    def excess(self, value: float | None) -> float | None:
        """``value`` over the band's median when it is out of the band, else None."""
        if value is None or not self.ready or self._median is None:
            return None
        # A cheap bound first: the cached median may be a few values old, so it is loosened.
        if not value > 0.5 * self.ratio * self._median:  # also false for NaN
            return None
        median = statistics.median(self.values)
        if median <= 0 or value < self.ratio * median:
            return None
        spread = _MAD_TO_SIGMA * statistics.median(abs(v - median) for v in self.values)
        if spread > 0 and (value - median) / spread < T.SPIKE_Z:
            return None
        return value / median

    def within(self, value: float | None, base: float) -> bool:
        """Back near ``base`` (the median before the spike): under SPIKE_RECOVER times it."""
        return value is not None and math.isfinite(value) and value <= T.SPIKE_RECOVER * base
