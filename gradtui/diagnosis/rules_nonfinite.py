"""NaN or inf in the loss or any gradient: where it first appeared and what caused it.

The probe records, on a run's first non-finite step, where the value came from
(``StepStats.nonfinite_origin``); nonfinite_causes picks the cause that origin and the run
before it support. A recording made before origins existed gets the older texts, which name
where the value appeared but not why.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import replace

from gradtui.diagnosis import texts
from gradtui.diagnosis import thresholds as T
from gradtui.diagnosis.context import Finding, RunInfo, StepView
from gradtui.diagnosis.nonfinite_causes import Before, Cause, cause_of
from gradtui.diagnosis.words import name_list, num
from gradtui.events import Diagnosis, LayerStatus, NonfiniteOrigin, RunStarted, StepStats

NONFINITE = "nonfinite"


class NonfiniteRule:
    """NaN or inf in the loss or any gradient, traced to where it first appeared."""

    def __init__(self, run: RunInfo, started: RunStarted | None = None) -> None:
        self.run = run
        self.started = started
        self.flagged: frozenset[int] = frozenset()
        self.reported = False
        self.last: StepStats | None = None  # the last finite step
        self.first_totals: list[float] = []
        self.log_of_softmax = False

    def step(self, view: StepView, grew: bool) -> list[Finding]:
        s = view.stats
        if s.graph_issues:
            self.log_of_softmax |= any(i.kind == "log_of_softmax" for i in s.graph_issues)
        if math.isfinite(s.grad_norm_total) and math.isfinite(s.loss) and not any(s.nonfinite):
            self.flagged = frozenset()  # a finite total means every layer's norm is finite
            self._remember(s)
            return []
        bad = [
            i
            for i, (norm, count) in enumerate(zip(s.grad_norm, s.nonfinite, strict=True))
            if count > 0 or (norm is not None and not math.isfinite(norm))
        ]
        self.flagged = frozenset(bad)
        view.explained |= self.flagged
        loss_bad = not math.isfinite(s.loss)
        if not (loss_bad or bad or not math.isfinite(s.grad_norm_total)) or self.reported:
            return []
        self.reported = True
        what = f"the loss is {num(s.loss)}" if loss_bad else f"the loss is finite ({num(s.loss)})"
        entries = sum(s.nonfinite)
        counted = f" ({entries} non-finite gradient entries)" if entries else ""
        head = (
            f"At step {s.step} {what}, and {len(bad)} of {len(s.grad_norm)} layers have "
            f"NaN/inf gradients{counted}. "
        )
        if s.nonfinite_origin is not None:
            return [(NONFINITE, self._from_origin(s, s.nonfinite_origin, head, grew, bad))]
        return [(NONFINITE, self._legacy(s, head, grew, bad))]

    def _remember(self, s: StepStats) -> None:
        self.last = s
        if len(self.first_totals) < T.NONFINITE_BASELINE_STEPS:
            self.first_totals.append(s.grad_norm_total)

    def before(self, grew: bool) -> Before:
        last, started = self.last, self.started
        largest, largest_norm = "", None
        if last is not None:
            norms = [(n, i) for i, n in enumerate(last.grad_norm) if n is not None]
            if norms:
                largest_norm, index = max(norms)
                largest = self.run.layers[index]
        return Before(
            grew=grew,
            last_step=None if last is None else last.step,
            last_total=None if last is None else last.grad_norm_total,
            largest=largest,
            largest_norm=largest_norm,
            baseline=statistics.median(self.first_totals) if self.first_totals else None,
            lr=None if last is None else last.lr,
            eps=None if started is None else started.eps,
            weight_decay=None if started is None else started.weight_decay,
            param_dtype="" if started is None else started.param_dtype,
            log_of_softmax=self.log_of_softmax,
        )

    def _from_origin(
        self, s: StepStats, origin: NonfiniteOrigin, head: str, grew: bool, bad: list[int]
    ) -> Diagnosis:
        before = self.before(grew)
        if before.lr is None and s.lr is not None:
            before = replace(before, lr=s.lr)
        cause: Cause = cause_of(origin, before, self.run.names(bad))
        layers = self._origin_layers(origin, bad)
        return Diagnosis(
            NONFINITE,
            "error",
            s.step,
            layers,
            head + cause.said,
            cause.why,
            cause.fix,
            cause.evidence,
        )

    def _origin_layers(self, origin: NonfiniteOrigin, bad: list[int]) -> tuple[str, ...]:
        if origin.stage in ("input", "unchecked"):
            return ()
        if origin.stage in ("update", "weights"):
            found = [self._module_layers(name.rsplit(".", 1)[0]) for name in origin.weights]
            return tuple(dict.fromkeys(name for layers in found for name in layers))
        if origin.stage == "forward":
            return self._module_layers(origin.where) or self._inside(origin.where, bad)
        if origin.stage == "loss" or origin.where == "loss":
            return ()
        return self.run.names(bad) or self._module_layers(origin.where)

    def _legacy(self, s: StepStats, message: str, grew: bool, bad: list[int]) -> Diagnosis:
        """A step without an origin (a recording made before there were any)."""
        source = s.nonfinite_source
        loss_bad = not math.isfinite(s.loss)
        if loss_bad and source == "loss" and grew:
            layers: tuple[str, ...] = ()
            message += (
                "Every module's output was still finite, but large enough that the loss "
                "overflowed: the end of the growth reported earlier."
            )
            why = texts.NONFINITE_MODULE_WHY + texts.NONFINITE_GROWN_WHY
            fix = texts.NONFINITE_MODULE_FIX
        elif source == "loss":
            layers = ()
            message += (
                "Every module's output was finite: the loss computation itself produced the "
                "first non-finite value."
                if loss_bad
                else "Every module's output and the loss were finite: the loss's own backward "
                "(dL/d output) produced the first non-finite value."
            )
            why, fix = texts.NONFINITE_LOSS_WHY, texts.NONFINITE_LOSS_FIX
        elif loss_bad:
            layers = self._module_layers(source) or self.run.names(bad)
            message += (
                f"The first module whose output went non-finite in the forward pass is {source}."
                if source
                else "The module where it started was not located."
            )
            why = texts.NONFINITE_MODULE_WHY + (texts.NONFINITE_GROWN_WHY if grew else "")
            fix = texts.NONFINITE_MODULE_FIX
        else:
            layers = self._module_layers(source) or self.run.names(bad)
            where = f" at {source}" if source and source not in ("backward", "loss") else ""
            message += (
                f"The forward pass and the loss were finite: the backward pass produced it"
                f"{where}, in {name_list(self.run.names(bad))}."
            )
            why, fix = texts.NONFINITE_BACKWARD_WHY, texts.NONFINITE_BACKWARD_FIX
        return Diagnosis(NONFINITE, "error", s.step, layers, message, why, fix)

    def _module_layers(self, source: str | None) -> tuple[str, ...]:
        """The watched layer a module name refers to, or the layers of its block."""
        if not source:
            return ()
        if source in self.run.layers:
            return (source,)
        for b, block in enumerate(self.run.blocks):
            if source == block or source.startswith(block + "."):
                return self.run.names(self.run.block_layers[b])
        return ()

    def _inside(self, module: str, bad: list[int]) -> tuple[str, ...]:
        """The watched layers inside ``module`` (an attention block that holds its
        projections), else the layers whose gradients went bad."""
        inner = tuple(name for name in self.run.layers if name.startswith(module + "."))
        return inner or self.run.names(bad)

    def status(self) -> dict[int, LayerStatus]:
        return dict.fromkeys(self.flagged, "nonfinite")
