"""Divergence: one catastrophic step, or a loss that ends far above where it started.

An update more than ten times the weights' own size is an error on the step it happened. A
loss that stays several times above its start is one too, dated to the first update larger
than the weights (a run that takes such a step in its stride, as a small head often does in
the first steps, is not flagged), else to the largest one-step jump of the gradient norm.
"""

from __future__ import annotations

import statistics
from collections import deque

from gradtui.diagnosis import texts
from gradtui.diagnosis import thresholds as T
from gradtui.diagnosis.context import Finding, RunInfo, StepView, finite
from gradtui.diagnosis.words import name_list, num, times
from gradtui.events import Diagnosis

DIVERGENCE = "divergence"


class DivergenceRule:
    def __init__(self, run: RunInfo) -> None:
        self.run = run
        self.totals: deque[float] = deque(maxlen=T.NORM_WINDOW)
        self.zero_init: set[int] | None = None  # layers whose weights started at exactly 0
        self.bad_step: int | None = None  # the first update larger than the weights
        self.bad_layers: tuple[str, ...] = ()
        self.bad_ratio = 0.0
        # (step, ratio, layers) of the first update larger than the weights: the divergence's
        # date once the loss confirms it
        self.suspect: tuple[int, float, tuple[str, ...]] | None = None
        self.high_streak = 0
        self.jump: tuple[float, int] | None = None  # largest one-step jump so far, and its step
        self.loss_rose = False
        self.rise_step: int | None = None
        self.steps = 0
        self.first: list[float] = []  # the first few finite losses
        self._start: float | None = None  # their median
        self.last_finite: int | None = None  # the latest step whose loss was finite
        self.first_nonfinite: int | None = None

    @property
    def step_of(self) -> int | None:
        """The step the divergence is dated to, once it was found."""
        if self.bad_step is not None:
            return self.bad_step
        if self.loss_rose and self.jump is not None:
            return self.jump[1]
        return self.rise_step

    def step(self, view: StepView, accumulating: bool = False) -> list[Finding]:
        """``accumulating``: gradients pile up (no zero_grad); a rising loss is that bug's."""
        s = view.stats
        self.steps += 1
        if self.zero_init is None:
            self.zero_init = {i for i, w in enumerate(s.weight_norm) if w == 0}
        self._track_jump(s.grad_norm_total, s.step)
        catastrophic = self._large_update(view)
        rose = self._loss_stays_high(view) and not accumulating
        if rose and not self.loss_rose:
            self.loss_rose = True
            self.rise_step = s.step
            if self.bad_step is None and self.suspect is not None:
                self.bad_step, self.bad_ratio, self.bad_layers = self.suspect
        elif not catastrophic:
            return []
        return [(DIVERGENCE, self._diagnosis(view))]

    def _track_jump(self, total: float, step: int) -> None:
        if not finite(total):
            return
        if self.totals and total >= T.DIVERGE_JUMP * min(self.totals):
            median = statistics.median(self.totals)
            if median > 0 and total / median >= T.DIVERGE_JUMP:
                ratio = total / median
                if self.jump is None or ratio > self.jump[0]:
                    self.jump = (ratio, step)
        self.totals.append(total)

    def _large_update(self, view: StepView) -> bool:
        """Remember the first update larger than the weights; True when it is catastrophic
        on its own (above UPDATE_ERROR_HIGH)."""
        if self.bad_step is not None:
            return False
        s = view.stats
        young = s.step < T.DIVERGE_ZERO_INIT_STEPS
        limit = T.DIVERGE_UPDATE
        over = [
            (u, i)
            for i, (u, w) in enumerate(zip(s.update_ratio, s.weight_norm, strict=True))
            if u > limit  # first: almost always false (and false for NaN)
            and finite(u)
            and self.run.trainable[i]
            and w > 0
            and not (young and i in (self.zero_init or ()))
        ]
        if not over:
            return False
        largest = max(over)[0]
        found = (s.step, largest, self.run.names([i for _, i in over]))
        if self.suspect is None:
            self.suspect = found
        if largest <= T.UPDATE_ERROR_HIGH:
            return False
        self.bad_step, self.bad_ratio, self.bad_layers = found
        return True

    @property
    def start(self) -> float | None:
        return self._start

    def _loss_stays_high(self, view: StepView) -> bool:
        loss = view.stats.loss
        if finite(loss):
            self.last_finite = view.step
        elif self.first_nonfinite is None:
            self.first_nonfinite = view.step
        if finite(loss) and len(self.first) < T.DIVERGE_START_STEPS:
            self.first.append(loss)
            self._start = statistics.median(self.first)
        start, recent = self.start, view.loss.recent_median
        high = (
            start is not None
            and start > 0
            and recent is not None
            and self.steps >= T.LOSS_START_STEPS
            and recent > T.DIVERGE_LOSS_RISE * start
        )
        self.high_streak = self.high_streak + 1 if high else 0
        return self.high_streak >= T.DIVERGE_LOSS_PATIENCE

    def _rise_words(self, view: StepView) -> str:
        """The rise in finite numbers only: after a NaN the medians are those of the last
        finite losses, so they are dated to the last finite step."""
        start, recent = self.start, view.loss.recent_median
        assert start is not None and recent is not None
        at = view.step if finite(view.stats.loss) else self.last_finite
        words = (
            f"By step {at} the loss was {times(recent / start)} where it started "
            f"(a median of {num(start)} over the first {len(self.first)} steps, "
            f"{num(recent)} over the last {T.LOSS_START_STEPS} finite ones)."
        )
        if self.first_nonfinite is not None:
            words += f" The loss was first non-finite at step {self.first_nonfinite}."
        return words

    def _diagnosis(self, view: StepView) -> Diagnosis:
        parts = []
        if self.bad_step is not None:
            parts.append(
                f"At step {self.bad_step} one update moved {name_list(self.bad_layers)} by "
                f"{times(self.bad_ratio)} their own size (|dW|/|W|; about 1e-3 is healthy)."
            )
        if self.jump is not None:
            ratio, at = self.jump
            where = "Then at" if self.bad_step is not None and at > self.bad_step else "At"
            parts.append(
                f"{where} step {at} the total gradient norm jumped to {times(ratio)} its "
                "recent median in one step."
            )
        if self.loss_rose:
            parts.append(self._rise_words(view))
        parts.append("Findings after this step follow from it.")
        step = self.step_of
        assert step is not None
        return Diagnosis(
            DIVERGENCE,
            "error",
            step,
            self.bad_layers,
            " ".join(parts),
            texts.DIVERGE_WHY,
            texts.DIVERGE_FIX,
        )
