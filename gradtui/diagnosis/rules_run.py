"""Rules on the run as a whole: a loss that does not improve (non-finite values: see
rules_nonfinite)."""

from __future__ import annotations

import math
import statistics

from gradtui.diagnosis import texts
from gradtui.diagnosis import thresholds as T
from gradtui.diagnosis.context import Finding, RunInfo, StepView
from gradtui.diagnosis.words import num
from gradtui.events import Diagnosis, Severity

LOSS = "loss_not_decreasing"


class LossRule:
    """The median loss of a window is not clearly below the best earlier window's."""

    def __init__(self, run: RunInfo) -> None:
        self.run = run
        total = run.total_steps
        if total and total < 4 * T.LOSS_WINDOW:
            self.size = max(T.LOSS_WINDOW_MIN, total // 4)
        else:
            self.size = T.LOSS_WINDOW
        self.values: list[float] = []
        self.count = 0
        self.first: tuple[float, float] | None = None
        self.best: tuple[float, float, int] | None = None  # median, standard error, window
        self.windows = 0
        self.improved_ever = False
        self.stale = 0  # windows since the best one
        self.reported = False
        self.slow_explained = False

    def step(self, view: StepView, slow_explained: bool = False) -> list[Finding]:
        """``slow_explained``: another finding (vanishing, dead units, ...) accounts for
        layers that barely move, so a learning rate too low is not the story."""
        self.slow_explained = slow_explained
        loss = view.stats.loss
        self.count += 1
        if math.isfinite(loss):
            self.values.append(loss)
        if self.count < self.size:
            return []
        values, self.values, self.count = self.values, [], 0
        index = self.windows
        self.windows += 1
        if len(values) < self.size // 2:
            return []  # mostly non-finite: the non-finite rule speaks for this run
        median, se = _median_and_error(values)
        if self.best is None or self.first is None:
            self.first = (median, se)
            self.best = (median, se, index)
            return []
        best_median, best_se, best_index = self.best
        margin = T.LOSS_SIGNIFICANCE * math.hypot(se, best_se)
        if best_median - median > margin:
            self.best = (median, se, index)
            self.improved_ever = True
            self.stale = 0
            return []
        self.stale += 1
        if self.reported or view.loss.converged or self.stale < T.LOSS_PATIENCE:
            return []
        self.reported = True
        rising = median - best_median > margin
        settled = self.improved_ever and not rising
        too_short = self.size < T.LOSS_WARNING_WINDOW
        severity: Severity = "info" if settled or too_short else "warning"
        return [(LOSS, self._diagnosis(view, severity, median, margin, best_index, rising))]

    def _diagnosis(
        self,
        view: StepView,
        severity: Severity,
        median: float,
        margin: float,
        best: int,
        rising: bool,
    ) -> Diagnosis:
        size = self.size
        end = view.step
        start = (best + 1) * size
        assert self.best is not None and self.first is not None
        best_median = self.best[0]
        span = f"steps {best * size}-{best * size + size - 1}"
        if rising:
            message = (
                f"Over steps {start}-{end} the loss's median rose to {num(median)}, above its "
                f"best window median of {num(best_median)} ({span}) by more than twice the "
                f"noise ({num(margin)})."
            )
        elif margin == 0:
            message = (
                f"Over steps {start}-{end} the loss's median was {num(median)}, the same as "
                f"over {span}: it has not changed at all."
            )
        else:
            message = (
                f"Over steps {start}-{end} the loss's median was {num(median)}, not clearly "
                f"below {num(best_median)} over {span} (it would need to be lower by more "
                f"than {num(margin)}, twice the noise)."
            )
        if not self.improved_ever:
            message += f" It has not improved since the first {size} steps."
            why, fix = texts.LOSS_STUCK_WHY, texts.LOSS_STUCK_FIX
            step_size = self._typical_update(view)
            if step_size is not None and step_size < T.LOSS_SLOW_UPDATE:
                message += (
                    f" The weights hardly move: a median |dW|/|W| of {num(step_size)} a step, "
                    "against about 1e-3 in healthy training, and no other finding explains "
                    "it: the learning rate is far too low."
                )
                fix = texts.LOSS_SLOW_FIX
        else:
            message += f" It did fall earlier, from a median of {num(self.first[0])}."
            why, fix = texts.LOSS_PLATEAU_WHY, texts.LOSS_PLATEAU_FIX
        if rising:
            why += " A loss that climbs back up also points at steps that have grown too large."
            fix = texts.LOSS_RISING_FIX
        return Diagnosis(LOSS, severity, start, (), message, why, fix)

    def _typical_update(self, view: StepView) -> float | None:
        """The median update ratio of the trainable layers this step; None when another
        finding already explains slow layers or no ratio is known."""
        if self.slow_explained:
            return None
        ratios = [
            u
            for u, trainable in zip(view.stats.update_ratio, self.run.trainable, strict=True)
            if trainable and math.isfinite(u)
        ]
        typical = statistics.median(ratios) if ratios else None
        # Updates of exactly zero are not small: nothing applies them (frozen's story).
        return typical if typical else None


def _median_and_error(values: list[float]) -> tuple[float, float]:
    """The median and its standard error, from the median absolute deviation (robust)."""
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    return median, 1.2533 * 1.4826 * mad / math.sqrt(len(values))
