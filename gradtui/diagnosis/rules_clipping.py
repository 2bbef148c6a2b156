"""Clipping saturated: the gradient norm is cut on almost every step, so the clip, not the
learning rate and the gradient, sets the size of every update."""

from __future__ import annotations

import statistics
from collections import deque

from gradtui.diagnosis import thresholds as T
from gradtui.diagnosis.context import Finding, StepView, finite
from gradtui.events import Diagnosis, Severity
from gradtui.numbers import num, times

CLIPPING_SATURATED = "clipping_saturated"

WHY = (
    "clip_grad_norm_ rescales the gradient to max_norm whenever its norm is larger. When that "
    "happens on nearly every step, every update has the same length, lr x max_norm, whatever "
    "the gradient says: the direction still comes from the gradient, but the step size is now "
    "set by the clip. The learning rate and max_norm together have become the real learning "
    "rate, and a rise of the gradient that should slow training (a steep region) no longer does."
)


class ClippingRule:
    def __init__(self) -> None:
        # per step: the norm before clipping over the norm after, or None on an unclipped step
        self.window: deque[float | None] = deque(maxlen=T.CLIP_SAT_WINDOW)
        self.reported = False

    def step(self, view: StepView) -> list[Finding]:
        s = view.stats
        if self.reported or s.grad_norm_clipped is None or s.step < T.CLIP_SAT_SKIP:
            return []
        total, after = s.grad_norm_total, s.grad_norm_clipped
        cut = finite(total) and finite(after) and 0 < after < total * T.CLIP_CUT
        self.window.append(total / after if cut else None)
        if len(self.window) < T.CLIP_SAT_WINDOW:
            return []
        ratios = [r for r in self.window if r is not None]
        share = len(ratios) / len(self.window)
        if share < T.CLIP_SAT_SHARE or statistics.median(ratios) < T.CLIP_SAT_RATIO:
            return []
        self.reported = True
        return [(CLIPPING_SATURATED, self._diagnosis(view, ratios, after))]

    def _diagnosis(self, view: StepView, ratios: list[float], max_norm: float) -> Diagnosis:
        ratio = statistics.median(ratios)
        first = view.step - len(self.window) + 1
        message = (
            f"Clipping cut the gradient norm on {len(ratios)} of the last {len(self.window)} "
            f"steps (steps {first} to {view.step}), by a median of {times(ratio)}: the norm "
            f"was about {num(ratio * max_norm)} against a max_norm of {num(max_norm)}."
        )
        fix = (
            f"Lower the learning rate (about {times(ratio)} lower makes the typical norm fit "
            f"under the clip) or raise max_norm towards the norm the run has "
            f"({num(ratio * max_norm)}); keep the clip as a guard against rare spikes, not as "
            "the step size."
        )
        start, recent = view.loss.start, view.loss.recent_median
        falling = start is not None and recent is not None and recent <= T.CLIP_SAT_FALLING * start
        if falling:
            message += (
                f" The loss still falls ({num(recent)} lately against {num(start)} at the "
                "start), so this is a note: the run trains at the clip's pace."
            )
        severity: Severity = "info" if falling else "warning"
        return Diagnosis(CLIPPING_SATURATED, severity, first, (), message, WHY, fix)
