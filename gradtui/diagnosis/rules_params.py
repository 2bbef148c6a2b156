"""Rules on parameters: missing and frozen gradients, gradients carried over between steps."""

from __future__ import annotations

import math
import statistics

from gradtui.diagnosis import texts
from gradtui.diagnosis import thresholds as T
from gradtui.diagnosis.context import Finding, RunInfo, StepView, finite
from gradtui.diagnosis.words import name_list, num, times
from gradtui.events import Diagnosis, Evidence, LayerStatus, StepStats

MISSING = "missing_gradients"
FROZEN = "frozen_parameters"
ACCUMULATION = "gradient_accumulation"


class _LayerStreakRule:
    """A condition on single layers that must hold some steps in a row. Its layers are
    flagged while it lasts, and reported again only when a new layer joins them."""

    STATUS: LayerStatus

    def __init__(self, run: RunInfo) -> None:
        self.run = run
        self.streak = [0] * len(run.layers)
        self.since = [0] * len(run.layers)
        self.flagged: frozenset[int] = frozenset()
        self.reported: frozenset[int] = frozenset()

    def _extend(self, i: int, step: int) -> int:
        """One more step in a row for layer i; returns how many there are now."""
        if self.streak[i] == 0:
            self.since[i] = step
        self.streak[i] += 1
        return self.streak[i]

    def _flag(self, view: StepView, flagged: list[int]) -> bool:
        """Flag these layers; True when one of them was never reported before."""
        self.flagged = frozenset(flagged)
        view.explained |= self.flagged
        if self.flagged <= self.reported:
            return False
        self.reported |= self.flagged
        return True

    def status(self) -> dict[int, LayerStatus]:
        return dict.fromkeys(self.flagged, self.STATUS)


class MissingRule(_LayerStreakRule):
    """A trainable layer's .grad stays None: backward never reaches it."""

    STATUS = "missing"

    def step(self, view: StepView) -> list[Finding]:
        flagged = []
        for i, norm in enumerate(view.stats.grad_norm):
            if norm is not None or not self.run.trainable[i]:
                self.streak[i] = 0
            elif self._extend(i, view.step) >= T.MISSING_PATIENCE:
                flagged.append(i)
        if not self._flag(view, flagged):
            return []
        layers = sorted(self.reported)
        first = min(self.since[i] for i in layers)
        names = self.run.names(layers)
        message = (
            f"{name_list(names)} got no gradient on any step since step {first} (.grad is "
            f"None after backward, {self.streak[layers[0]]} steps in a row), so their weights "
            f"have not changed. {self._cut(view.chain.norms, layers)}"
        ).rstrip()
        return [
            (
                MISSING,
                Diagnosis(
                    MISSING, "error", first, names, message, texts.MISSING_WHY, texts.MISSING_FIX
                ),
            )
        ]

    def _cut(self, norms: tuple[float | None, ...] | None, layers: list[int]) -> str:
        """Where the chain breaks, as the last chain read shows it: the first block after
        the missing ones that has a gradient."""
        if norms is None or len(norms) != len(self.run.blocks):
            return ""
        blocks = self.run.blocks
        missing_blocks = {self.run.layer_block[i] for i in layers}
        dark = [b for b in sorted(missing_blocks) if norms[b] is None]
        if not dark:
            return (
                "Their blocks' outputs do receive a gradient, so these parameters take no part "
                "in computing them: an unused branch, or weights read through .data."
            )
        after = [b for b in range(max(dark) + 1, len(blocks)) if norms[b] is not None]
        if not after:
            return "No block output receives a gradient: the loss is not connected to them."
        cut = after[0]
        return (
            f"The chain is cut at the input of {blocks[cut]}: its output receives a gradient "
            f"({num(norms[cut])}) but none flows back into {blocks[cut - 1]}."
        )


class FrozenRule(_LayerStreakRule):
    """Weights that do not change although their gradient should move them."""

    STATUS = "frozen"

    def __init__(self, run: RunInfo) -> None:
        super().__init__(run)
        self.zero_grad = [False] * len(run.layers)
        self.none_moved = False  # at the latest step, no layer moved although gradients came
        self.lr_before: tuple[int, float] | None = None  # the last step with a rate above 0
        self.lr_zero_since: int | None = None  # the step the optimizer's rate became 0

    def _follow_lr(self, lr: float | None, step: int) -> None:
        if lr is None:
            return
        if lr > 0:
            self.lr_before, self.lr_zero_since = (step, lr), None
        elif self.lr_zero_since is None:
            self.lr_zero_since = step

    def step(self, view: StepView) -> list[Finding]:
        s = view.stats
        self._follow_lr(s.lr, s.step)
        if view.loss.converged:
            self.streak = [0] * len(self.streak)
            self.flagged = frozenset()
            return []
        step_size: float | None = None
        self.none_moved = False
        flagged = []
        for i, (grad, update) in enumerate(zip(s.grad_norm, s.update_ratio, strict=True)):
            if update != 0 and grad:  # a gradient came and the weight moved: the usual case
                self.streak[i] = 0
                continue
            frozen, zero = self._frozen_now(view, i, step_size)
            if frozen is None:
                step_size = self._step_size(s)
                frozen, zero = self._frozen_now(view, i, step_size)
            if not frozen:
                self.streak[i] = 0
                continue
            self.zero_grad[i] = bool(zero)
            if self._extend(i, view.step) >= T.FROZEN_PATIENCE:
                flagged.append(i)
        if not self._flag(view, flagged):
            return []
        return [(FROZEN, self._diagnosis(view, sorted(self.reported), step_size))]

    def _frozen_now(
        self, view: StepView, i: int, step_size: float | None
    ) -> tuple[bool | None, bool]:
        """(frozen?, because the gradient is zero?); None when the step size is needed."""
        s = view.stats
        run = self.run
        grad, update = s.grad_norm[i], s.update_ratio[i]
        if (
            not run.trainable[i]
            or i in view.explained
            or run.layer_block[i] in view.faint_blocks
            or not finite(grad)
            or not finite(update)
        ):
            return False, False
        if grad == 0:
            return True, True
        if update != 0:
            return False, False
        if step_size is None:
            return None, False
        if math.isinf(step_size):  # no layer moved at all: nothing applies the gradients
            return True, False
        weight = s.weight_norm[i]
        expected = step_size * grad / weight if weight > 0 else 0.0
        return expected >= T.FROZEN_MIN_EXPECTED, False

    def _step_size(self, s: StepStats) -> float:
        """The optimizer's effective step, |dW| / |grad|, from the layers that did move; inf
        when no trainable layer moved at all although gradients reached them."""
        sizes = [
            u * w / g
            for g, u, w in zip(s.grad_norm, s.update_ratio, s.weight_norm, strict=True)
            if finite(g) and g > 0 and finite(u) and u > 0 and w > 0
        ]
        if sizes:
            return statistics.median(sizes)
        self.none_moved = any(
            t and finite(g) and g > 0 and u == 0
            for t, g, u in zip(self.run.trainable, s.grad_norm, s.update_ratio, strict=True)
        )
        return math.inf if self.none_moved else 0.0

    def _diagnosis(self, view: StepView, layers: list[int], step_size: float | None) -> Diagnosis:
        names = self.run.names(layers)
        first = min(self.since[i] for i in layers)
        zero = [i for i in layers if self.zero_grad[i]]
        moving = [i for i in layers if not self.zero_grad[i]]
        parts = []
        if moving and self.none_moved and self.lr_zero_since is not None:
            return self._zero_lr(view, names, first, moving)
        if moving and self.none_moved:
            i = moving[0]
            parts.append(
                f"{name_list(self.run.names(moving))}: no layer's weights changed for "
                f"{self.streak[i]} steps although their gradients are non-zero (norm "
                f"{num(view.stats.grad_norm[i])} at step {view.step}): nothing applies them. "
                "That is not a learning rate too low: any non-zero rate would move them."
            )
        elif moving:
            i = moving[0]
            s = view.stats
            parts.append(
                f"{name_list(self.run.names(moving))}: weights unchanged for "
                f"{self.streak[i]} steps although the gradient (norm {num(s.grad_norm[i])} at "
                f"step {view.step}) is comparable to layers that do move."
            )
        if zero:
            parts.append(
                f"{name_list(self.run.names(zero))}: the gradient is exactly zero everywhere, "
                f"{self.streak[zero[0]]} steps in a row, while other layers still learn."
            )
        message = f"Since step {first}: " + " ".join(parts)
        return Diagnosis(
            FROZEN, "warning", first, names, message, texts.FROZEN_WHY, texts.FROZEN_FIX
        )

    def _zero_lr(
        self, view: StepView, names: tuple[str, ...], first: int, moving: list[int]
    ) -> Diagnosis:
        """No layer moves and the optimizer's learning rate is 0: that is the cause."""
        assert self.lr_zero_since is not None
        since = self.lr_zero_since
        i = moving[0]
        message = (
            f"Since step {first}: {name_list(self.run.names(moving))}: no layer's weights "
            f"changed for {self.streak[i]} steps although their gradients are non-zero (norm "
            f"{num(view.stats.grad_norm[i])} at step {view.step}), and the optimizer's "
            f"learning rate has been 0 since step {since}"
        )
        evidence = [
            Evidence(
                "learning rate",
                0.0,
                rules_in=("a learning rate of 0",),
                rules_out=("parameters left out of the optimizer", "a zero gradient"),
            )
        ]
        if self.lr_before is not None:
            step, lr = self.lr_before
            message += f" (it was {num(lr)} at step {step}: a schedule that reached 0)."
            evidence.append(Evidence("last learning rate above 0", lr))
            fix = texts.ZERO_LR_SCHEDULE_FIX
        else:
            message += " (it was 0 from the start)."
            fix = texts.ZERO_LR_FIX
        return Diagnosis(
            FROZEN,
            "warning",
            first,
            names,
            message,
            texts.ZERO_LR_WHY,
            fix,
            tuple(evidence),
        )


class AccumulationRule:
    """.grad already holds gradients before backward: the last step's were never cleared."""

    def __init__(self, run: RunInfo) -> None:
        self.run = run
        self.streak = 0
        self.since = 0
        self.first_total: float | None = None
        self.reported = False

    def step(self, view: StepView, frozen: frozenset[int]) -> list[Finding]:
        """``frozen``: layers the optimizer does not update. zero_grad() on the optimizer
        leaves their .grad alone, so gradients that pile up there alone are not this bug."""
        s = view.stats
        if self.first_total is None and finite(s.grad_norm_total):
            self.first_total = s.grad_norm_total
        carried = s.carried_grad_norm
        if not (finite(carried) and carried > 0) or self._only_frozen(s, carried, frozen):
            self.streak = 0
            return []
        if self.streak == 0:
            self.since = s.step
        self.streak += 1
        if self.streak < T.ACCUMULATION_PATIENCE or self.reported:
            return []
        self.reported = True
        growth = ""
        if self.first_total and finite(s.grad_norm_total):
            growth = (
                f" The gradient norm went from {num(self.first_total)} to "
                f"{num(s.grad_norm_total)} ({times(s.grad_norm_total / self.first_total)})."
            )
        message = (
            f"Since step {self.since}, .grad already held gradients before backward ran "
            f"({self.streak} steps in a row; norm {num(carried)} at step {s.step}): nothing "
            f"cleared them, so each step adds its gradient to all the earlier ones.{growth}"
        )
        names = self.run.names([i for i, t in enumerate(self.run.trainable) if t])
        return [
            (
                ACCUMULATION,
                Diagnosis(
                    ACCUMULATION,
                    "error",
                    self.since,
                    names,
                    message,
                    texts.ACCUMULATION_WHY,
                    texts.ACCUMULATION_FIX,
                ),
            )
        ]

    @staticmethod
    def _only_frozen(s: StepStats, carried: float, frozen: frozenset[int]) -> bool:
        if not frozen:
            return False
        held = math.sqrt(sum((s.grad_norm[i] or 0.0) ** 2 for i in frozen))
        return carried <= T.ACCUMULATION_FROZEN_SLACK * held
