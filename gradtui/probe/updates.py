"""The size of a weight update without copying the weights, when the optimizer allows it.

Plain SGD (no momentum, no weight decay) moves each weight by exactly ``lr`` times its gradient,
so |ΔW| = lr · |grad| after clipping, and the probe already has |grad|. Any other optimizer
(momentum, Adam, ...) keeps state that shapes the step, and the probe measures the update from a
copy of the weights instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


class SgdSteps:
    """Learning rates of the watched weights under an optimizer known to be plain SGD."""

    def __init__(self, optimizer: torch.optim.SGD, weights: Sequence[torch.Tensor]) -> None:
        self._groups = optimizer.param_groups
        group_of = {id(p): g for g, group in enumerate(self._groups) for p in group["params"]}
        # A weight the optimizer does not hold never moves: no group, learning rate 0.
        self._group_of_weight = [group_of.get(id(w)) for w in weights]

    def update_norms(self, grad_norm: Sequence[float | None], clip_scale: float) -> list[float]:
        """|ΔW| of each weight, given |grad| before clipping and the factor clipping applied."""
        rates = [group["lr"] for group in self._groups]
        return [
            0.0 if group is None or norm is None else rates[group] * clip_scale * norm
            for group, norm in zip(self._group_of_weight, grad_norm, strict=True)
        ]


def plain_sgd(optimizer: torch.optim.Optimizer | None, weights: Sequence[torch.Tensor]):
    """``SgdSteps`` when every step of ``optimizer`` is ``-lr * grad``, else None."""
    if type(optimizer) is not torch.optim.SGD:
        return None
    for group in optimizer.param_groups:
        if group["momentum"] or group["weight_decay"] or group["maximize"]:
            return None
        if not isinstance(group["lr"], float | int):  # a tensor lr: read it as the step runs
            return None
    return SgdSteps(optimizer, weights)
