"""Exact global per-layer statistics from local shards of sharded tensors.

Each layer contributes four numbers: sum of squares, max-abs, non-finite
count and element count. All layers are packed into one tensor and reduced
with one SUM all_reduce over the Shard mesh dims only; max-abs rides along
as a second small MAX reduce. Reducing over Replicate dims would count each
replica once more and inflate norms by sqrt(replicas).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist

# Statistics that need the whole tensor cannot come from a shard.
UNAVAILABLE_UNDER_SHARDING = ("median", "quantiles", "rank", "singular values")


@dataclass(frozen=True)
class ShardStats:
    """Global statistics of one tensor, exact under sharding."""

    sum_sq: float
    max_abs: float
    nonfinite: int
    numel: int

    @property
    def norm(self) -> float:
        return math.sqrt(self.sum_sq)


def local_part(t: torch.Tensor) -> torch.Tensor:
    """The rank-local data of a DTensor, or the tensor itself."""
    to_local = getattr(t, "to_local", None)
    return to_local() if callable(to_local) else t


def shard_groups(t: torch.Tensor) -> list[object]:
    """Process groups of the mesh dims that shard `t` (never Replicate)."""
    mesh = getattr(t, "device_mesh", None)
    placements = getattr(t, "placements", ())
    if mesh is None:
        return []
    return [mesh.get_group(i) for i, p in enumerate(placements) if p.is_shard()]


def _local_row(t: torch.Tensor) -> list[float]:
    x = local_part(t).detach().double().reshape(-1)
    finite = torch.isfinite(x)
    bad = int((~finite).sum())
    clean = x[finite]
    sum_sq = float((clean * clean).sum()) if clean.numel() else 0.0
    top = float(clean.abs().max()) if clean.numel() else 0.0
    return [sum_sq, float(bad), float(x.numel()), top]


def global_stats(tensors: Sequence[torch.Tensor]) -> list[ShardStats]:
    """Exact global statistics per tensor; all tensors share one mesh."""
    if not tensors:
        return []
    rows = torch.tensor([_local_row(t) for t in tensors], dtype=torch.float64)
    sums, tops = rows[:, :3].contiguous(), rows[:, 3].contiguous()
    groups = shard_groups(tensors[0]) if dist.is_initialized() else []
    for group in groups:
        dist.all_reduce(sums, op=dist.ReduceOp.SUM, group=group)
    for group in groups:
        dist.all_reduce(tops, op=dist.ReduceOp.MAX, group=group)
    return [
        ShardStats(float(s[0]), float(m), int(s[1]), int(s[2]))
        for s, m in zip(sums.tolist(), tops.tolist(), strict=True)
    ]
