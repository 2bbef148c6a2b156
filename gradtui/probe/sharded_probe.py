"""What a probe does differently on a sharded model (FSDP2's ``fully_shard``).

The probe measures each rank's local shards as it measures whole tensors, lays its values out
the same way on every rank, and ``ShardReduce`` turns the shards' norms into whole norms
with one collective per step (see ``shards``)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from gradtui.probe.shards import ShardReduce, is_sharded, local_or_none, local_part
from gradtui.probe.updates import UpdateTracker

Column = tuple[float | None, ...]


class ShardedLayout:
    """Which of the values a sharded probe transfers are norms of shards."""

    def __init__(
        self,
        shards: ShardReduce,
        params: Sequence[torch.Tensor],
        weights: Sequence[torch.Tensor],
        updates: UpdateTracker,
    ) -> None:
        self.shards = shards
        self.param_sharded = [is_sharded(p) for p in params]
        weight_sharded = [is_sharded(w) for w in weights]
        self.update_sharded = [weight_sharded[i] for i in updates.order()]
        self.weight_params = list(weights)
        self.numels = [w.numel() for w in weights]  # whole sizes, the same on every rank
        self._masks: dict[tuple, torch.Tensor] = {}

    def local_weights(self) -> list[torch.Tensor]:
        return [local_part(w).detach() for w in self.weight_params]

    def local_grads(self, grads: Sequence[torch.Tensor | None]) -> list[torch.Tensor | None]:
        return [local_or_none(g) for g in grads]

    def weight_grads(self) -> list[torch.Tensor | None]:
        return [local_or_none(w.grad) for w in self.weight_params]

    def carried(self, params: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], list[bool]]:
        pairs = [
            (local_part(p.grad), s)
            for p, s in zip(params, self.param_sharded, strict=True)
            if p.grad is not None
        ]
        return [g for g, _ in pairs], [s for _, s in pairs]

    def reduce(
        self,
        values: torch.Tensor,
        present: Sequence[bool],
        blocks: int,
        updates: int,
        carried: Sequence[bool],
        loss: bool = True,
    ) -> torch.Tensor:
        """``values`` laid out as the probe lays them out: the loss (if ``loss``), the present
        gradients,
        ``blocks`` block gradients, then ``updates`` segments of weight norms, then the norms
        of the gradients carried over."""
        key = (tuple(present), blocks, updates, tuple(carried), loss)
        mask = self._masks.get(key)
        if mask is None:
            grads = [s for s, there in zip(self.param_sharded, present, strict=True) if there]
            flags = [*[False] * loss, *grads, *[False] * blocks]
            flags += [*self.update_sharded * updates, *carried]
            mask = self._masks[key] = torch.tensor(flags, device=values.device)
        return self.shards.reduce_norms(values, mask)

    def nonfinite(self, grad_norm: Column) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Non-finite entries of each layer's whole gradient, and of this rank's shard."""
        counts = [
            0.0 if norm is None or math.isfinite(norm) else _bad_entries(g)
            for g, norm in zip(self.weight_grads(), grad_norm, strict=True)
        ]
        local = tuple(int(c) for c in counts)
        whole = self.shards.reduce_sums(torch.tensor(counts, dtype=torch.float64)).tolist()
        return tuple(int(c) for c in whole), local

    def spread(self, mean_abs: Column, max_abs: Column, zero_frac: Column):
        """The whole gradients' mean |g|, max |g| and zero share from each shard's."""
        grads = self.weight_grads()
        sizes = [0 if g is None else g.numel() for g in grads]
        rows = [
            (0.0, 0.0, 0.0) if m is None else (m * n, z * n, p)
            for m, p, z, n in zip(mean_abs, max_abs, zero_frac, sizes, strict=True)
        ]
        sums = torch.tensor([[s, z, float(n)] for (s, z, _), n in zip(rows, sizes, strict=True)])
        peaks = torch.tensor([p for _, _, p in rows], dtype=torch.float64)
        sums = self.shards.reduce_sums(sums.double()).tolist()
        peaks = self.shards.reduce_max(peaks).tolist()
        present = [g is not None for g in grads]
        mean = tuple(_share(s, n, there) for (s, _, n), there in zip(sums, present, strict=True))
        zero = tuple(_share(z, n, there) for (_, z, n), there in zip(sums, present, strict=True))
        peak = tuple(p if there else None for p, there in zip(peaks, present, strict=True))
        return mean, peak, zero


def _bad_entries(grad: torch.Tensor | None) -> float:
    return 0.0 if grad is None else float((~grad.isfinite()).sum())


def _share(total: float, entries: float, present: bool) -> float | None:
    return total / entries if present and entries else None
