"""Rules on the chain-rule product: vanishing and exploding gradients."""

from __future__ import annotations

import statistics
from collections import deque
from math import isfinite

from gradtui.diagnosis import texts
from gradtui.diagnosis import thresholds as T
from gradtui.diagnosis.context import Finding, RunInfo, StepView, finite
from gradtui.diagnosis.culprits import culprit_links, explained_by_dead, zero_cut_links
from gradtui.diagnosis.vanishing_causes import small_weights
from gradtui.diagnosis.words import (
    decades,
    name_list,
    num,
    readable,
    times,
)
from gradtui.events import Diagnosis, Evidence, LayerStatus, Severity, at_least

VANISHING = "vanishing_gradients"
EXPLODING = "exploding_gradients"
JUMP_KEY = f"{EXPLODING}:jump"


def _layers_of(run: RunInfo, blocks) -> list[int]:
    return sorted(i for b in blocks for i in run.block_layers[b] if run.trainable[i])


class VanishingRule:
    """The gradient reaching the first block is orders of magnitude below the loss's."""

    def __init__(self, run: RunInfo) -> None:
        self.run = run
        self.streak = 0
        self.first_step = 0
        self.flagged: frozenset[int] = frozenset()
        self.reported_layers: frozenset[int] = frozenset()
        self.reported_severity: Severity | None = None
        self.dead: dict[int, float] = {}
        self.reported_first: int | None = None  # the step of the first report
        self.dead_story: bool | None = None  # told as dead units' (decided at first report)
        # The trainable layers of the first block (of the first layer alone when one block
        # holds them all), whose updates say whether the weights still move.
        first = [i for i in run.block_layers[0] if run.trainable[i]] if run.blocks else []
        self._first_layers = first[:1] if len(run.blocks) < 2 else first
        # The layers of the faint blocks, for the faint blocks they were made from: the
        # blocks change only when a chain is read.
        self._faint_layers: tuple[frozenset[int], frozenset[int]] | None = None
        self.saturated: tuple[float | None, ...] | None = None  # the latest measured shares

    def step(self, view: StepView, dead: dict[int, float] | None = None) -> list[Finding]:
        """``dead``: mostly dead blocks (share of dead units over the threshold)."""
        self.dead = dead or {}
        if view.stats.saturated_frac is not None:
            self.saturated = view.stats.saturated_frac
        by_layers = len(self.run.blocks) < 2  # no links measured: compare the layers instead
        d, faint = layer_depth(self.run, view) if by_layers else (view.chain.depth_gain, None)
        if d is None or not finite(d) or d >= T.VANISH_DEPTH_GAIN:
            self.streak = 0
            self.flagged = frozenset()
            return []
        if faint is None:
            faint = self._layers_of_faint(view.faint_blocks)
        if self.streak == 0:
            self.first_step = view.step
        self.streak += 1
        if self.streak < T.PATIENCE:
            return []
        self.flagged = faint
        view.explained |= self.flagged
        severity = self._severity(view)
        if severity == self.reported_severity and self.flagged <= self.reported_layers:
            return []
        if self.reported_severity == "error":
            severity = "error"
        self.reported_severity = severity
        self.reported_layers |= self.flagged
        if self.reported_first is None:
            self.reported_first = self.first_step
        return [(VANISHING, self._diagnosis(view, d, severity))]

    def _layers_of_faint(self, blocks: frozenset[int]) -> frozenset[int]:
        if self._faint_layers is None or self._faint_layers[0] is not blocks:
            self._faint_layers = (blocks, frozenset(_layers_of(self.run, blocks)))
        return self._faint_layers[1]

    def _severity(self, view: StepView) -> Severity:
        ratios = [view.stats.update_ratio[i] for i in self._first_layers]
        stalled = bool(ratios) and all(r < T.STALLED_UPDATE_RATIO for r in ratios)
        return "error" if stalled else "warning"

    def _diagnosis(self, view: StepView, d: float, severity: Severity) -> Diagnosis:
        run = self.run
        names = run.names(sorted(self.reported_layers))
        # The links that cut it belong to blocks of dead units: their story, not the init's.
        # The story of the first report stands: units that die in a collapse that was already
        # under way do not make the init's fix wrong.
        if self.dead_story is None:
            self.dead_story = len(run.blocks) >= 2 and explained_by_dead(view.chain, d, self.dead)
        cut_by_dead = self.dead_story
        since = self.reported_first if self.reported_first is not None else self.first_step
        if len(run.blocks) < 2:
            message = self._layer_message(view, d, names)
        elif d == 0:
            first = readable(run.blocks[0])
            message = (
                f"From step {since} on, the gradient reaching {first} has been exactly zero "
                f"(still at step {view.step}): nothing of the loss's gradient arrives. "
                f"{zero_cut_links(view.chain, self.dead)} "
                f"{len(names)} layer(s) get no gradient through the chain: {name_list(names)}."
            )
            shrinking = "" if cut_by_dead else culprit_links(view.chain, True, skip_zero=True)
            if shrinking:
                lowered = shrinking[0].lower() + shrinking[1:]
                message += f" Before it reached zero it was shrinking: {lowered}"
        else:
            first = readable(run.blocks[0])
            message = (
                f"From step {since} on, the gradient reaching {first} has been a small part of "
                f"the gradient leaving the loss: {num(d)} of it at step {view.step} "
                f"({decades(d)} lost on the way back). "
                f"{culprit_links(view.chain, True, self.dead)} "
                f"{len(names)} layer(s) get under a thousandth of it: {name_list(names)}."
            )
        if severity == "error":
            message += (
                f" The first layers' weights no longer move (|dW|/|W| below "
                f"{num(T.STALLED_UPDATE_RATIO)} at step {view.step})."
            )
        why = texts.DEAD_WHY if cut_by_dead else texts.vanishing_why(run.activation, run.init)
        fix = texts.DEAD_FIX if cut_by_dead else texts.vanishing_fix(run.activation)
        cause = None if cut_by_dead else small_weights(run, self.saturated, self.reported_layers)
        evidence: tuple[Evidence, ...] = ()
        if cause is not None:
            message, why, fix, evidence = message + cause.note, cause.why, cause.fix, cause.evidence
        return Diagnosis(VANISHING, severity, since, names, message, why, fix, evidence)

    def _layer_message(self, view: StepView, d: float, names: tuple[str, ...]) -> str:
        trainable = [i for i, t in enumerate(self.run.trainable) if t]
        first = readable(self.run.layers[trainable[0]])
        last = readable(self.run.layers[trainable[-1]])
        size = (
            f"exactly zero (still at step {view.step})"
            if d == 0
            else f"a small part of {last}'s: {num(d)} of it at step {view.step} "
            f"({decades(d)} lower)"
        )
        return (
            f"From step {self.first_step} on, the weight gradient of {first} has been {size}. "
            f"{len(names)} layer(s) get under a thousandth of {last}'s: {name_list(names)}. "
            "This run measures no links of the chain (a compiled model has one, at its "
            "output), so the layers' own gradients are compared instead."
        )

    def status(self) -> dict[int, LayerStatus]:
        return dict.fromkeys(self.flagged, "vanishing")


def layer_depth(run: RunInfo, view: StepView) -> tuple[float | None, frozenset[int]]:
    """For a run without links: the first trainable layer's weight-gradient norm over the last
    one's, when the first is also below VANISH_FIRST_LAYER_NORM (else None: not vanishing),
    and the layers whose gradient is below VANISH_DEPTH_GAIN of the last one's."""
    norms = view.stats.grad_norm
    trainable = [i for i, t in enumerate(run.trainable) if t]
    if len(trainable) < 2:
        return None, frozenset()
    first, last = norms[trainable[0]], norms[trainable[-1]]
    if not finite(first) or not finite(last) or last <= 0:
        return None, frozenset()
    if first >= T.VANISH_FIRST_LAYER_NORM:
        return None, frozenset()
    faint = frozenset(
        i for i in trainable[:-1] if finite(norms[i]) and norms[i] < T.VANISH_DEPTH_GAIN * last
    )
    return first / last, faint


class ExplodingRule:
    """Gradients jump far above their recent median, or grow link by link towards the input."""

    def __init__(self, run: RunInfo) -> None:
        self.run = run
        self.totals: deque[float] = deque(maxlen=T.NORM_WINDOW)
        self.layer_norms: list[deque[float]] = [deque(maxlen=T.NORM_WINDOW) for _ in run.layers]
        self.depth_streak = 0
        self.depth_first = 0
        self.jump_layers: frozenset[int] = frozenset()
        self.depth_layers: frozenset[int] = frozenset()
        self._jump_severity: Severity | None = None
        self._jump_first: int | None = None
        self._last_update: float | None = None  # the largest |dW|/|W| of the previous step
        self._depth_reported = False

    def step(self, view: StepView) -> list[Finding]:
        findings = []
        jump = self._jump(view)
        if jump:
            findings.append(jump)
        depth = self._depth(view)
        if depth:
            findings.append(depth)
        s = view.stats
        if finite(s.grad_norm_total):
            self.totals.append(s.grad_norm_total)
        updates = [u for u in s.update_ratio if isfinite(u)]  # a ratio is never None
        self._last_update = max(updates) if updates else None
        for window, norm in zip(self.layer_norms, s.grad_norm, strict=True):
            if norm is not None and isfinite(norm):  # finite(), inlined: runs per layer
                window.append(norm)
        return findings

    # -- a jump in time ---------------------------------------------------------------------
    def _jump(self, view: StepView) -> Finding | None:
        s = view.stats
        total = s.grad_norm_total
        if not finite(total) or not self.totals:
            self.jump_layers = frozenset()
            return None
        if total < T.EXPLODE_JUMP * min(self.totals):  # under it times the median too
            self.jump_layers = frozenset()
            return None
        median = statistics.median(self.totals)
        if median <= 0 or total / median < T.EXPLODE_JUMP:
            self.jump_layers = frozenset()
            return None
        ratio = total / median
        rises = self._layer_rises(s.grad_norm)
        self.jump_layers = frozenset(i for i, r in rises if r >= T.EXPLODE_JUMP) or frozenset(
            i for i, _ in rises[:3]
        )
        view.explained |= self.jump_layers
        clipped = s.grad_norm_clipped is not None and s.grad_norm_clipped < total
        severity: Severity = (
            "info" if clipped else ("error" if ratio >= T.EXPLODE_JUMP_ERROR else "warning")
        )
        if self._jump_severity and at_least(self._jump_severity, severity):
            return None
        self._jump_severity = severity
        if self._jump_first is None:
            self._jump_first = s.step
        top = ", ".join(f"{self.run.layers[i]} {times(r)}" for i, r in rises[:3])
        # The finding keeps the step it was first seen at: the text starts there.
        first = self._jump_first
        lead = (
            f"At step {s.step}"
            if first == s.step
            else f"Since step {first} it jumps; at step {s.step}"
        )
        message = (
            f"{lead} the total gradient norm jumped to {num(total)}, {times(ratio)} "
            f"its median over the previous {len(self.totals)} step(s) ({num(median)}). "
            f"Largest rises: {top}."
        )
        if self._last_update is not None:
            size = self._last_update
            share = f"{times(size)}" if size >= 1 else f"{num(size)} of"
            message += (
                f" The update just before changed some weights by {share} their own size "
                f"(about 1e-3 is healthy)."
            )
        if clipped:
            message += f" Clipping cut it to {num(s.grad_norm_clipped)} before the update."
        why = texts.JUMP_WHY + (texts.JUMP_WHY_CLIPPED if clipped else "")
        names = self.run.names(sorted(self.jump_layers))
        return (
            JUMP_KEY,
            Diagnosis(EXPLODING, severity, s.step, names, message, why, texts.JUMP_FIX),
        )

    def _layer_rises(self, norms: tuple[float | None, ...]) -> list[tuple[int, float]]:
        rises = []
        for i, (window, norm) in enumerate(zip(self.layer_norms, norms, strict=True)):
            if not window or not finite(norm):
                continue
            median = statistics.median(window)
            if median > 0:
                rises.append((i, norm / median))
        return sorted(rises, key=lambda item: item[1], reverse=True)

    def forget_jump(self) -> None:
        """The jump was a spike that recovered: a later one is reported afresh."""
        self._jump_severity = None
        self._jump_first = None

    # -- growth along the chain -------------------------------------------------------------
    def _depth(self, view: StepView) -> Finding | None:
        d = view.chain.depth_gain
        if d is None or not finite(d) or d <= T.EXPLODE_DEPTH_GAIN:
            self.depth_streak = 0
            self.depth_layers = frozenset()
            return None
        if self.depth_streak == 0:
            self.depth_first = view.step
        self.depth_streak += 1
        if self.depth_streak < T.PATIENCE:
            return None
        loud = [
            j
            for j, r in enumerate(view.chain.from_loss[:-1])
            if finite(r) and r > T.EXPLODE_DEPTH_GAIN
        ]
        self.depth_layers = frozenset(_layers_of(self.run, loud))
        view.explained |= self.depth_layers
        if self._depth_reported:
            return None
        self._depth_reported = True
        names = self.run.names(sorted(self.depth_layers))
        message = (
            f"From step {self.depth_first} on, the gradient reaching "
            f"{readable(self.run.blocks[0])} has been large: {times(d)} the gradient leaving "
            f"the loss at step {view.step} ({decades(d)} gained on the way back). "
            f"{culprit_links(view.chain, False)} Layers with over {num(T.EXPLODE_DEPTH_GAIN)}x "
            f"the loss's gradient: {name_list(names)}."
        )
        return (
            f"{EXPLODING}:depth",
            Diagnosis(
                EXPLODING,
                "warning",
                self.depth_first,
                names,
                message,
                texts.DEPTH_WHY,
                texts.DEPTH_FIX,
            ),
        )

    def status(self) -> dict[int, LayerStatus]:
        return dict.fromkeys(self.jump_layers | self.depth_layers, "exploding")
