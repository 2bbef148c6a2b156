"""The size of a weight update without copying the weights, when the optimizer allows it.

Plain SGD (no momentum, no weight decay) moves each weight by exactly ``lr`` times its gradient,
so |ΔW| = lr · |grad| after clipping, and the probe already has |grad|. Any other optimizer
(momentum, Adam, ...) keeps state that shapes the step, and the probe measures the update from a
copy of the weights instead (``UpdateTracker``; a sample of each large one).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from gradtui.probe.norms import NormPlan


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
        if group.get("fused"):  # a fused step can unscale the gradients inside its kernel
            return None
        if not isinstance(group["lr"], float | int):  # a tensor lr: read it as the step runs
            return None
    return SgdSteps(optimizer, weights)


# A weight larger than this is not copied whole to measure its update: a fixed sample of
# about SAMPLE_SIZE of its entries, spread over every row and column, stands for it.
SAMPLE_ABOVE = 1 << 16
SAMPLE_SIZE = 1 << 14


def sample_stride(tensor: torch.Tensor) -> int:
    """A stride through the flattened tensor that takes about SAMPLE_SIZE entries and, being
    prime to the row length, visits every column."""
    stride = max(1, math.ceil(tensor.numel() / SAMPLE_SIZE))
    row = tensor.shape[-1] if tensor.dim() else 1
    while math.gcd(stride, row) != 1:
        stride += 1
    return stride


def sampled(tensor: torch.Tensor, stride: int) -> torch.Tensor:
    """Every ``stride``-th entry of ``tensor`` (a view when it is contiguous)."""
    return tensor.detach().reshape(-1)[::stride]


def _scale(entries: int, in_sample: int) -> float:
    return math.sqrt(entries / in_sample) if in_sample else 0.0  # an empty shard: no norm


class UpdateTracker:
    """The weights' norms at each step, and the norms of the change the optimizer then makes.

    Small weights are copied whole (stacked as a NormPlan says) and measured exactly. A weight
    over SAMPLE_ABOVE entries is never copied: a fixed sample of its entries is, and its norm
    and its change are estimated from the sample, scaled by sqrt(entries / sample). The memory
    kept is a sample per large layer whatever the model's size, and the time a few kernels
    over the sample: the gradient norms, taken whole, stay the step's largest read."""

    def __init__(
        self, weights: Sequence[torch.Tensor], numels: Sequence[int] | None = None
    ) -> None:
        """``numels``: each weight's whole size when ``weights`` are shards of it; the split
        into small and large then agrees on every rank, and nothing is stacked."""
        self.weights = list(weights)
        self.size = len(self.weights)
        sizes = list(numels) if numels is not None else [w.numel() for w in self.weights]
        self._small = [i for i, n in enumerate(sizes) if n <= SAMPLE_ABOVE]
        self._large = [i for i, n in enumerate(sizes) if n > SAMPLE_ABOVE]
        small = [self.weights[i] for i in self._small]
        self.plan = NormPlan(small, stack=numels is None)
        self._strides = [sample_stride(self.weights[i]) for i in self._large]
        scales = [
            _scale(self.weights[i].numel(), sampled(self.weights[i], s).numel())
            for i, s in zip(self._large, self._strides, strict=True)
        ]
        device = self.weights[self._large[0]].device if self._large else None
        self._scales = torch.tensor(scales, device=device) if scales else None
        self._copies: list[torch.Tensor] = []  # the small weights, stacked as the plan says
        self._samples: list[torch.Tensor] = []  # the large weights' samples
        self.changed = False  # the copies hold the change of the last optimizer step

    def order(self) -> list[int]:
        """The weights' indices in the order of the norms ``snapshot`` returns."""
        return [*(self._small[i] for i in self.plan_order()), *self._large]

    def plan_order(self) -> list[int]:
        inverse = [0] * len(self._small)
        for index, place in enumerate(self.plan.position):
            inverse[place] = index
        return inverse

    def _small_weights(self) -> list[torch.Tensor]:
        return [self.weights[i] for i in self._small]

    def _sample_views(self) -> list[torch.Tensor]:
        return [
            sampled(self.weights[i], s) for i, s in zip(self._large, self._strides, strict=True)
        ]

    def snapshot(self) -> list[torch.Tensor]:
        """Keep this step's weights (or their samples); returns their norms, 1-D tensors in
        part order (``arrange`` puts the transferred values back in weight order)."""
        self.changed = False
        self._copies = self.plan.gather(self._small_weights(), buffer=0, copy=True)
        parts = self.plan.norms(self._copies)
        if self._large:
            views = self._sample_views()
            if len(self._samples) == len(views):
                torch._foreach_copy_(self._samples, views)
            else:
                self._samples = [v.clone() for v in views]
            parts.append(torch.stack(torch._foreach_norm(self._samples)) * self._scales)
        return parts

    def mark_step(self) -> None:
        """After the optimizer step: the copies become the change (its sign is no matter)."""
        if self._copies:
            torch._foreach_sub_(self._copies, self.plan.gather(self._small_weights(), buffer=1))
        if self._samples:
            torch._foreach_sub_(self._samples, self._sample_views())
        self.changed = True

    def change_norms(self) -> list[torch.Tensor]:
        """Norms of the last step's change, in part order; call before the next snapshot."""
        parts = self.plan.norms(self._copies)
        if self._samples:
            parts.append(torch.stack(torch._foreach_norm(self._samples)) * self._scales)
        return parts

    def arrange(self, values: Sequence[float]) -> list[float]:
        """Transferred values in part order back in the order of the weights."""
        out = [0.0] * self.size
        count = len(self._small)
        for index, value in zip(self._small, self.plan.arrange(values[:count]), strict=True):
            out[index] = value
        for index, value in zip(self._large, values[count : self.size], strict=True):
            out[index] = value
        return out
