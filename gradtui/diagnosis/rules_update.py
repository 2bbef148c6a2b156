"""The update/weight ratio rule: |dW|/|W| per step far from about 1e-3."""

from __future__ import annotations

import statistics
from collections import deque
from math import isfinite

from gradtui.diagnosis import texts
from gradtui.diagnosis import thresholds as T
from gradtui.diagnosis.context import Finding, RunInfo, StepView
from gradtui.diagnosis.words import name_list, num
from gradtui.events import Diagnosis, Severity

UPDATE = "update_ratio"


class UpdateRatioRule:
    """|dW|/|W| per step far from about 1e-3."""

    def __init__(self, run: RunInfo) -> None:
        self.run = run
        n = len(run.layers)
        self.windows: list[deque[float]] = [deque(maxlen=T.UPDATE_WINDOW) for _ in range(n)]
        self.high_streak = [0] * n
        self.low_streak = [0] * n
        self.reported: dict[str, tuple[Severity, frozenset[int]]] = {}
        self.band_side: str | None = None  # where the typical layer sat at the last check
        self.band_streak = 0

    def step(self, view: StepView, covered: frozenset[int], slow_explained: bool) -> list[Finding]:
        """``covered``: layers another finding already explains; ``slow_explained``: a
        vanishing diagnosis accounts for slow layers, so the low side stays quiet."""
        s = view.stats
        skip = view.explained | covered
        high_err, low_err = [], []
        low_excused = view.loss.converged or slow_explained
        for i, u in enumerate(s.update_ratio):
            if not isfinite(u):  # a ratio is never None
                self.high_streak[i] = self.low_streak[i] = 0
                continue
            self.windows[i].append(u)
            if i in skip or not self._judged(view, i):
                self.high_streak[i] = self.low_streak[i] = 0
                continue
            self.high_streak[i] = self.high_streak[i] + 1 if u > T.UPDATE_ERROR_HIGH else 0
            low = u < T.UPDATE_ERROR_LOW and not low_excused
            self.low_streak[i] = self.low_streak[i] + 1 if low else 0
            if self.high_streak[i] >= 2:
                high_err.append(i)
            if self.low_streak[i] >= T.PATIENCE:
                low_err.append(i)
        findings = []
        if high_err:
            findings += self._report(view, "high", "error", high_err)
        if low_err:
            findings += self._report(view, "low", "error", low_err)
        if (s.step + 1) % T.UPDATE_CHECK_EVERY == 0:
            findings += self._check_band(view, skip, slow_explained)
        return findings

    def _judged(self, view: StepView, i: int) -> bool:
        run = self.run
        return (
            run.trainable[i]
            and view.stats.grad_norm[i] is not None
            and run.layer_block[i] not in view.faint_blocks
        )

    def _check_band(
        self, view: StepView, skip: set[int] | frozenset[int], slow_explained: bool
    ) -> list[Finding]:
        """The run's typical layer (median over layers of their window medians) against the
        band: the learning rate is one number, so one side at a time, and once a side was
        reported the other is not (two opposite fixes in one run help nobody)."""
        medians = {
            i: statistics.median(window)
            for i, window in enumerate(self.windows)
            if i not in skip and len(window) >= T.UPDATE_CHECK_EVERY and self._judged(view, i)
        }
        typical = statistics.median(medians.values()) if medians else None
        side = None
        if typical is not None and typical > T.UPDATE_HIGH:
            side = "high"
        elif typical is not None and 0 < typical < T.UPDATE_LOW:
            side = None if view.loss.converged or slow_explained else "low"
        if side is None or side != self.band_side:
            self.band_streak = 0
        self.band_side = side
        if side is None:
            return []
        self.band_streak += 1
        other = "low" if side == "high" else "high"
        if self.band_streak < T.UPDATE_PATIENCE or f"{UPDATE}:{other}" in self.reported:
            return []
        if side == "high":
            layers = [i for i, m in medians.items() if m > T.UPDATE_HIGH]
        else:
            layers = [i for i, m in medians.items() if 0 < m < T.UPDATE_LOW]
        return self._report(view, side, "info", layers)

    def _report(self, view: StepView, side: str, severity: Severity, layers) -> list[Finding]:
        key = f"{UPDATE}:{side}"
        if f"{UPDATE}:{'low' if side == 'high' else 'high'}" in self.reported:
            return []  # never the opposite fix in the same run
        old_severity, old_layers = self.reported.get(key, ("info", frozenset()))
        layers = frozenset(layers)
        escalated = severity == "error" and old_severity != "error"
        if key in self.reported and not escalated and layers <= old_layers:
            return []
        severity = "error" if "error" in (severity, old_severity) else "info"
        every = sorted(layers | old_layers)
        self.reported[key] = (severity, frozenset(every))
        return [(key, self._diagnosis(view, side, severity, every))]

    def _diagnosis(self, view: StepView, side: str, severity: Severity, layers) -> Diagnosis:
        names = self.run.names(layers)
        medians = [statistics.median(self.windows[i]) for i in layers if self.windows[i]]
        typical = statistics.median(medians) if medians else None
        extreme = max(medians, default=None) if side == "high" else min(medians, default=None)
        bound = T.UPDATE_ERROR_HIGH if side == "high" else T.UPDATE_ERROR_LOW
        message = (
            f"At step {view.step} the optimizer changes {name_list(names)} by a median "
            f"{num(typical)} of their size per step ({'largest' if side == 'high' else 'smallest'}"
            f" {num(extreme)}); about 1e-3 is healthy."
        )
        if severity == "error":
            word = "above" if side == "high" else "below"
            message += f" Some steps were {word} {num(bound)}, where training cannot work."
        if side == "low" and len(layers) == sum(self.run.trainable):
            message += " Every layer is this slow: the learning rate is too low."
        elif severity == "info" and side == "low":
            message += " The run's typical layer is this slow: the learning rate is too low."
        elif severity == "info":
            message += " The run's typical layer moves this fast: the learning rate is too high."
        why = texts.UPDATE_HIGH_WHY if side == "high" else texts.UPDATE_LOW_WHY
        fix = texts.UPDATE_HIGH_FIX if side == "high" else texts.UPDATE_LOW_FIX
        return Diagnosis(UPDATE, severity, view.step, names, message, why, fix)
