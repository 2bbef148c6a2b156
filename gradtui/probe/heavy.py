"""The heavier statistics, taken every k steps: mean and max |grad| and the share of exact zeros
per layer, and how many units each activation leaves dead (ReLU family) or saturated
(sigmoid, tanh). Tensors that share a shape are stacked and reduced together, as in ``norms``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from gradtui.probe.norms import MAX_STACKED_NUMEL, NormPlan
from gradtui.probe.updates import SAMPLE_ABOVE, sample_stride, sampled

# A sigmoid or tanh unit counts as saturated when its local derivative is below a tenth of
# the derivative's peak: sigmoid beyond |z| > 3.64, tanh beyond |z| > 1.82.
SATURATION_Z = {"Sigmoid": 3.64, "Tanh": 1.82}
RELU_FAMILY = ("ReLU", "LeakyReLU", "GELU", "ReLU6", "SiLU", "ELU")

Column = tuple[float | None, ...]
# Plans kept for different sets of gradient shapes (as probe.MAX_READINGS).
MAX_SPREAD_PLANS = 8


def gradient_spread(
    grads: Sequence[torch.Tensor | None], plans: dict[tuple, NormPlan] | None = None
) -> tuple[Column, Column, Column]:
    """Per gradient: mean |g|, max |g| and the share of entries exactly zero (None for None).
    ``plans``: plans kept from earlier calls, by the gradients' shapes (a plan keeps its
    stacking buffers, so a heavy step then allocates nothing large)."""
    present = [g for g in grads if g is not None and g.numel() > 0]
    if not present:
        return ((None,) * len(grads),) * 3  # type: ignore[return-value]
    plan = _plan_for(present, plans)
    sums, maxes, zeros = [], [], []
    for part in plan.gather(present)[: len(plan.stacks)]:
        rows = part.reshape(part.shape[0], -1)
        magnitude = rows.abs()
        sums.append(magnitude.sum(1))
        maxes.append(magnitude.amax(1))
        # sign(|g|) is 1 for every entry but the zeros: a float sum, several times quicker
        # on a CPU than comparing and counting booleans. sign(NaN) is 0, so a gradient with
        # a NaN (its |g| sum is not finite) is counted again below, the slow way.
        zeros.append(rows.shape[1] - magnitude.sign().sum(1, dtype=torch.float32))
    singles = [present[i] for i in plan.singles]
    if singles:  # one call each for the odd tensors (on a GPU, a few fused kernels)
        small = [g for g in singles if g.numel() <= SAMPLE_ABOVE]
        spreads = iter([])
        if small and small[0].device.type == "cpu":
            # On a CPU, passes over one |g| (sum, max, and sign summed for the non-zeros)
            # take about half the time of a min-max pass, count_nonzero and a sum of |g|, and
            # a fraction of an inf-norm's or a 1-norm's. As above, a NaN is counted again.
            spreads = iter([_spread_of_magnitude(g.abs()) for g in small])
        elif small:  # fused kernels, a few for all of them
            spreads = iter(
                zip(
                    torch._foreach_norm(small, 1),
                    torch._foreach_norm(small, math.inf),
                    [(g == 0).sum() for g in small],
                    strict=True,
                )
            )
        for g in singles:  # a large one costs about its norm: see _large_spread
            spread = _large_spread(g) if g.numel() > SAMPLE_ABOVE else next(spreads)
            for column, value in zip((sums, maxes, zeros), spread, strict=True):
                column.append(value.reshape(1).double())
    values = torch.cat([torch.cat(sums), torch.cat(maxes), torch.cat(zeros).to(sums[0])]).tolist()
    n = plan.size
    total, peak, zero = (plan.arrange(values[k * n : (k + 1) * n]) for k in range(3))
    mean_abs, max_abs, zero_frac, k = [], [], [], 0
    for g in grads:
        if g is None or g.numel() == 0:
            mean_abs.append(None)
            max_abs.append(None)
            zero_frac.append(None)
            continue
        zeros_in_g = zero[k] if math.isfinite(total[k]) else int((g == 0).sum())
        mean_abs.append(total[k] / g.numel())
        max_abs.append(peak[k])
        zero_frac.append(zeros_in_g / g.numel())
        k += 1
    return tuple(mean_abs), tuple(max_abs), tuple(zero_frac)


def _plan_for(tensors: list[torch.Tensor], plans: dict[tuple, NormPlan] | None) -> NormPlan:
    if plans is None:
        return NormPlan(tensors)
    key = tuple((t.shape, t.dtype, t.device) for t in tensors)
    plan = plans.get(key)
    if plan is None:
        if len(plans) >= MAX_SPREAD_PLANS:
            plans.clear()
        plan = plans[key] = NormPlan(tensors)
    return plan


def _large_spread(g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sum of |g|, max |g| and the count of zeros of a large gradient, for about the cost of
    its norm: the max exactly (one min-max pass, where an inf-norm is many times slower on a
    CPU), the sum and the zeros estimated from a fixed sample of entries (see updates)."""
    sample = sampled(g, sample_stride(g))
    scale = g.numel() / sample.numel()
    return (
        torch.linalg.vector_norm(sample, 1) * scale,
        _max_abs(g),
        (sample == 0).sum() * scale,
    )


def _spread_of_magnitude(
    magnitude: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    nonzero = magnitude.sign().sum(dtype=torch.float32)  # exact to 2^24 whatever the dtype
    return magnitude.sum(), magnitude.amax(), magnitude.numel() - nonzero


def _max_abs(g: torch.Tensor) -> torch.Tensor:
    """max |g| in one min-max pass (an inf-norm is many times slower on a CPU)."""
    low, high = torch.aminmax(g.detach())
    return torch.maximum(high, -low)


def _rows(z: torch.Tensor) -> torch.Tensor:
    """(samples, units): every feature of a sample counts as a unit."""
    return z.reshape(z.shape[0], -1) if z.dim() > 1 else z.reshape(1, -1)


def _counts(kind: str, stacked: torch.Tensor) -> torch.Tensor:
    """Per (samples, units) slice of ``stacked``: saturated entries, or dead units."""
    if kind in SATURATION_Z:
        # sign(max(|z| - limit, 0)) is 1 exactly where |z| > limit: a float sum, about twice
        # as quick on a CPU as comparing and counting booleans
        beyond = stacked.abs().sub_(SATURATION_Z[kind]).clamp_(min=0)
        return beyond.sign_().flatten(1).sum(1)
    # a unit is dead when no sample of the batch lifts it above zero
    return (stacked.amax(dim=1) <= 0).sum(1)


class ActivationTally:
    """Each activation's input seen in a heavy step's forward pass. Small inputs are kept and
    reduced together once the step is over; a large one is reduced on the spot, since keeping
    it would hold memory that autograd might otherwise have freed."""

    def __init__(self) -> None:
        self._kept: dict[tuple, list[tuple[int, torch.Tensor]]] = {}
        self._counted: list[tuple[int, str, torch.Tensor, torch.Size]] = []

    def add(self, block: int, kind: str, z: torch.Tensor) -> None:
        if kind not in SATURATION_Z and kind not in RELU_FAMILY:
            return
        rows = _rows(z.detach())
        if rows.numel() <= MAX_STACKED_NUMEL:
            self._kept.setdefault((kind, rows.shape, rows.dtype), []).append((block, rows))
        else:
            self._counted.append((block, kind, _counts(kind, rows[None]), rows.shape))

    def clear(self) -> None:
        self._kept.clear()
        self._counted.clear()

    def fractions(self, n_blocks: int) -> tuple[Column | None, Column | None]:
        """Dead and saturated shares per block; None for blocks not seen (and both None when
        no activation was seen at all)."""
        counts, owners = [], []
        for (kind, _, _), members in self._kept.items():
            counts.append(_counts(kind, torch.stack([rows for _, rows in members])))
            owners += [(block, kind, rows.shape) for block, rows in members]
        for block, kind, count, shape in self._counted:
            counts.append(count)
            owners.append((block, kind, shape))
        if not counts:
            return None, None
        fractions: dict[str, list[float | None]] = {
            "dead": [None] * n_blocks,
            "saturated": [None] * n_blocks,
        }
        for (block, kind, (samples, units)), count in zip(
            owners, torch.cat(counts).tolist(), strict=True
        ):
            if kind in SATURATION_Z:
                fractions["saturated"][block] = count / (samples * units)
            else:
                fractions["dead"][block] = count / units
        return tuple(fractions["dead"]), tuple(fractions["saturated"])
