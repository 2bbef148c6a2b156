"""Rules on activations, from the heavy steps: dead ReLU units and saturated sigmoid/tanh."""

from __future__ import annotations

from gradtui.diagnosis import texts
from gradtui.diagnosis import thresholds as T
from gradtui.diagnosis.context import Finding, RunInfo, StepView
from gradtui.diagnosis.words import name_list, readable
from gradtui.events import Diagnosis, LayerStatus, Severity

DEAD = "dead_units"
SATURATED = "saturated_activation"


class ActivityRule:
    """A block's share of dead (or saturated) units above a threshold on consecutive checks."""

    def __init__(self, run: RunInfo, kind: str) -> None:
        self.run = run
        self.kind = kind
        self.dead = kind == DEAD
        n = len(run.blocks)
        self.streak = [0] * n
        self.since = [0] * n
        self.latest: list[float | None] = [None] * n
        self.peak = [0.0] * n  # the largest share during the current streak
        self.flagged_blocks: frozenset[int] = frozenset()
        self.over: frozenset[int] = frozenset()  # over the threshold at the latest check
        self.reported: frozenset[int] = frozenset()
        self.zero_grad_layers: set[int] = set()  # layers whose gradient was exactly 0, latest
        self.severity: Severity | None = None
        # What the latest check explains and finds, kept until the next check: the shares
        # come on heavy steps only, and the rules ask every step.
        self._explains: frozenset[int] = frozenset()
        self._mostly_dead: dict[int, float] = {}
        self.threshold = T.DEAD_FRAC if self.dead else T.SATURATED_FRAC
        if self.dead and run.batch:
            # a live unit active on half the samples looks dead on a batch of B with 0.5**B
            self.threshold = min(1.0, T.DEAD_FRAC + 0.5**run.batch)

    def step(self, view: StepView) -> list[Finding]:
        norms = view.stats.grad_norm
        self.zero_grad_layers = (
            {i for i, g in enumerate(norms) if g == 0} if 0.0 in norms else set()
        )
        shares = view.stats.dead_frac if self.dead else view.stats.saturated_frac
        if shares is not None:
            self._measure(view.step, shares)
        view.explained |= self._explains
        if shares is None or not self.flagged_blocks:
            return []
        severity: Severity = "warning"
        if self.dead and any(
            (self.latest[b] or 0) >= T.DEAD_ERROR_FRAC for b in self.flagged_blocks
        ):
            severity = "error"
        if self.flagged_blocks <= self.reported and severity == self.severity:
            return []
        if self.severity == "error":
            severity = "error"
        self.severity = severity
        self.reported |= self.flagged_blocks
        return [(self.kind, self._diagnosis(view, sorted(self.reported), severity))]

    @property
    def mostly_dead(self) -> dict[int, float]:
        """Blocks over the dead threshold at the latest check, with their share."""
        return self._mostly_dead

    @property
    def fully_dead(self) -> frozenset[int]:
        """Blocks whose every unit was dead at the latest check: no gradient passes them."""
        if not self.dead:
            return frozenset()
        return frozenset(
            b for b, share in enumerate(self.latest) if (share or 0) >= T.DEAD_ERROR_FRAC
        )

    def _measure(self, step: int, shares: tuple[float | None, ...]) -> None:
        flagged, over = [], []
        for b, share in enumerate(shares):
            self.latest[b] = share
            if share is None or share <= self.threshold:
                self.streak[b] = 0
                continue
            over.append(b)
            if self.streak[b] == 0:
                self.since[b] = step
                self.peak[b] = share
            self.peak[b] = max(self.peak[b], share)
            self.streak[b] += 1
            if self.streak[b] >= T.ACTIVATION_PATIENCE:
                flagged.append(b)
        self.flagged_blocks = frozenset(flagged)
        self.over = frozenset(over)
        # A block over the threshold explains its layers' zero gradients even before the
        # patience is met; a block where every unit is dead also silences the next block's
        # weights, whose inputs are then all zero.
        explains = self._layers(self.over)
        if self.dead:
            full = {b + 1 for b in self.over if (self.latest[b] or 0) >= T.DEAD_ERROR_FRAC}
            explains |= self._layers(frozenset(b for b in full if b < len(self.latest)))
            self._mostly_dead = {
                b: share
                for b, share in enumerate(self.latest)
                if share is not None and share > self.threshold
            }
        self._explains = explains

    def _layers(self, blocks: frozenset[int]) -> frozenset[int]:
        return frozenset(i for b in blocks for i in self.run.block_layers[b])

    def _diagnosis(self, view: StepView, blocks: list[int], severity: Severity) -> Diagnosis:
        names = self.run.blocks
        shares = ", ".join(f"{readable(names[b])} {self.peak[b]:.0%}" for b in blocks)
        layers = self.run.names(sorted(self._layers(frozenset(blocks))))
        first = min(self.since[b] for b in blocks)
        checks = T.ACTIVATION_PATIENCE
        if self.dead:
            batch = f" of the batch of {self.run.batch}" if self.run.batch else ""
            message = (
                f"Share of units that output zero on every sample{batch}: {shares} at most "
                f"(threshold {self.threshold:.0%}), on at least {checks} checks in a row "
                f"since step {first}. The weights feeding those units ({name_list(layers)}) get no "
                f"gradient through them."
            )
            full = [names[b] for b in blocks if self.peak[b] >= T.DEAD_ERROR_FRAC]
            if full:
                message += (
                    f" In {name_list(full)} every unit is dead: no gradient passes back "
                    f"through it at all, so everything before it has stopped learning."
                )
            why, fix = texts.DEAD_WHY, texts.DEAD_FIX
        else:
            message = (
                f"Share of pre-activations in the flat tails of the "
                f"{self.run.activation or 'activation'} (slope under a tenth of its peak): "
                f"{shares} at most, on at least {checks} checks in a row since step {first}."
            )
            why, fix = texts.SATURATED_WHY, texts.SATURATED_FIX
        return Diagnosis(self.kind, severity, first, layers, message, why, fix)

    def status(self) -> dict[int, LayerStatus]:
        status: LayerStatus = "dead" if self.dead else "saturated"
        blocks = set(self.flagged_blocks)
        blocks &= set(range(len(self.run.blocks)))
        layers = set(self._layers(frozenset(blocks)))
        if self.dead:  # the next block's weights see only zeros: a gradient of exactly 0
            after = {b + 1 for b in self.flagged_blocks & self.fully_dead} - blocks
            after &= set(range(len(self.run.blocks)))
            layers |= set(self._layers(frozenset(after))) & self.zero_grad_layers
        return dict.fromkeys(layers, status)
