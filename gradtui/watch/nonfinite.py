"""Where a watched step's first NaN or inf appeared, and, on the run's first such step, where
it came from (see probe/origin.py): only on non-finite steps.

The module is named from the finiteness checks when they were on for the step's forward pass,
else by replaying that forward pass from the inputs the monitor kept (random state, buffers and
``.grad`` put back). Replays are few: after a non-finite step the checks stay on until a step
is finite again, so one is needed only where a run first goes bad; the budget bounds a run
that flickers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import replace

import torch
from torch import nn

from gradtui.events import NonfiniteOrigin, StepStats
from gradtui.probe.origin import named_inputs, origin_or_none
from gradtui.watch.compiled import running_eagerly
from gradtui.watch.finite import FiniteChecks
from gradtui.watch.replay import LastInputs, traced_output

REPLAY_BUDGET = 3
log = logging.getLogger("gradtui.watch")


class NonfiniteTracer:
    """Shares the monitor's finiteness checks and kept inputs; owns the replay budget."""

    def __init__(self, model: nn.Module, finite: FiniteChecks, inputs: LastInputs) -> None:
        self.model = model
        self.finite = finite
        self.inputs = inputs
        self.replays_left = REPLAY_BUDGET
        self.origin_found = False  # the run's first non-finite step has its origin

    def facts(
        self,
        stats: StepStats,
        loss: torch.Tensor,
        mode: str,
        backward: Callable[[StepStats], str],
        sharded: bool = False,
    ) -> StepStats:
        """``stats`` with its non-finite source; on the run's first such step also its
        origin, except on a sharded model, whose weights only the ranks together can check.
        ``mode``: the monitor's finite_checks now; ``backward``: the backward culprit."""
        source, forward = self._source(stats, mode, backward)
        if self.origin_found or sharded:
            return replace(stats, nonfinite_source=source)
        self.origin_found = True
        if forward is None and not math.isfinite(stats.loss):  # the forward was not checked
            forward = NonfiniteOrigin("unchecked")
        seen = self.inputs
        inputs = named_inputs(seen.args, seen.kwargs) if seen.seen else []
        params = self.model.named_parameters()
        origin = origin_or_none(stats.step, inputs, params, forward, source, loss=loss)
        return replace(stats, nonfinite_source=source, nonfinite_origin=origin)

    def _source(
        self, stats: StepStats, mode: str, backward: Callable[[StepStats], str]
    ) -> tuple[str, NonfiniteOrigin | None]:
        """Where the first non-finite value appeared (see StepStats.nonfinite_source), and
        the forward side of its origin when the forward pass or the loss made it. With
        finite_checks="off" only the backward side can be named."""
        if mode == "off":
            return backward(stats), None
        found, forward = None, None
        if self.finite.checked():
            found = self.finite.first_bad()
            forward = None if found is None else self._detailed(found)
        elif self.inputs.seen and self.replays_left > 0:
            found, forward = self._replay(not self.origin_found)
        if found is not None:
            return found, forward
        if not math.isfinite(stats.loss) and (self.finite.checked() or self.inputs.seen):
            # every module output was finite: the loss made the first one
            return "loss", NonfiniteOrigin("loss")
        return backward(stats), None

    def _detailed(self, found: str) -> NonfiniteOrigin:
        """The forward origin at ``found`` (from the checks), with the operation that made
        it from a replay while one is left, for the run's first origin only."""
        origin = NonfiniteOrigin("forward", where=found)
        if self.origin_found or not self.inputs.seen or self.replays_left <= 0:
            return origin
        _, traced = self._replay(True)
        return traced or origin

    def _replay(self, with_origin: bool) -> tuple[str | None, NonfiniteOrigin | None]:
        """The forward pass again from the kept inputs. A model that cannot be called with
        them (a framework calls it with other arguments: Lightning's training_step under
        DDP) ends the replays; it never ends the watching."""
        self.replays_left -= 1
        try:
            with running_eagerly():
                return traced_output(self.model, self.inputs, with_origin)
        except Exception as exc:
            self.replays_left = 0
            log.debug("gradtui.watch: no replay of the forward pass: %r", exc)
            return None, None
