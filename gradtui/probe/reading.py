"""Where each statistic of a step sits among the values transferred to the host."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from gradtui.probe.norms import NormPlan


class Reading:
    """For one set of measured tensors: the plan that reduces them, then indices into
    ``[loss, *plan's norms, ...]`` (0, the loss's place, stands for a gradient that is None).
    ``weight_param_index``: the index among the parameters of each layer's weight."""

    def __init__(
        self,
        weight_param_index: Sequence[int],
        grads: list[torch.Tensor | None],
        block_grads: list[torch.Tensor | None],
        measured: list[torch.Tensor],
        stack: bool = True,
    ) -> None:
        self.plan = NormPlan(measured, stack)
        places = iter([1 + place for place in self.plan.position])
        param_at = [0 if g is None else next(places) for g in grads]
        self.block_at = [0 if g is None else next(places) for g in block_grads]
        self.weight_at = list(places)  # the weights, when measured along (plain SGD)
        self.param_at = [i for i in param_at if i]
        self.grad_at = [param_at[i] for i in weight_param_index]
