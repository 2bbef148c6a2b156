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


def is_sharded(t: torch.Tensor) -> bool:
    return bool(shard_groups(t)) if hasattr(t, "device_mesh") else False


def local_or_none(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else local_part(t)


class ShardingError(Exception):
    """A sharded model the probe cannot measure exactly (said in one line)."""


class ShardReduce:
    """The probe's one collective per step on a sharded model.

    Every statistic the probe transfers is a norm of a local tensor. A norm of a shard is
    squared, summed over the ranks that hold the other shards, and rooted: the whole
    tensor's norm. Entries that are not norms of shards (the loss, this rank's own block
    gradients) are masked out and left as they are. Every rank must lay out its values in
    the same order, so a sharded probe never stacks by local shape (see NormPlan)."""

    def __init__(
        self,
        groups: list[object],
        mesh_shape: tuple[int, ...],
        replicas: list[object] = (),
        device: torch.device | None = None,
    ) -> None:
        self.groups = groups
        # Where the mesh's collectives run. Under CPU offload the shards and their gradients
        # live on the CPU while the mesh's backend (NCCL) takes only device tensors: the few
        # values of a step go there for the reduction and come back.
        self.device = device
        self.mesh_shape = mesh_shape
        # Hybrid sharding: the groups of ranks holding copies of the same shard. Their sums
        # are averaged over them too, so that every rank of the world ends with the same
        # values, and one copy gone non-finite (after the reduction) is seen by all.
        self.replicas = list(replicas)

    @classmethod
    def of(cls, params: Sequence[torch.Tensor]) -> ShardReduce | None:
        sharded = [p for p in params if hasattr(p, "device_mesh")]
        if not sharded:
            return None
        first = sharded[0]
        mesh = first.device_mesh
        dims = [i for i, p in enumerate(first.placements) if p.is_shard()]
        for p in sharded:
            same_dims = [i for i, q in enumerate(p.placements) if q.is_shard()] == dims
            if p.device_mesh != mesh or not same_dims:
                raise ShardingError(
                    "a model whose parameters are sharded over different meshes or mesh dims"
                )
        copies = [i for i, p in enumerate(first.placements) if p.is_replicate()]
        return cls(
            [mesh.get_group(i) for i in dims],
            tuple(mesh.shape),
            [mesh.get_group(i) for i in copies],
            mesh_device(mesh.device_type),
        )

    def _on_mesh(self, values: torch.Tensor) -> torch.Tensor:
        if self.device is None or values.device == self.device:
            return values
        return values.to(self.device)

    def reduce_norms(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``values`` with each entry where ``mask`` is set replaced by the norm over all
        shards: sqrt of the sum of the squares over the shard groups."""
        squares = self._on_mesh(torch.where(mask, values * values, torch.zeros_like(values)))
        for group in self.groups:
            dist.all_reduce(squares, op=dist.ReduceOp.SUM, group=group)
        for group in self.replicas:
            dist.all_reduce(squares, op=dist.ReduceOp.SUM, group=group)
            squares /= dist.get_world_size(group)
        return torch.where(mask, squares.to(values.device).sqrt(), values)

    def reduce_sums(self, values: torch.Tensor) -> torch.Tensor:
        return self._reduce(values, dist.ReduceOp.SUM)

    def reduce_max(self, values: torch.Tensor) -> torch.Tensor:
        return self._reduce(values, dist.ReduceOp.MAX)

    def _reduce(self, values: torch.Tensor, op: object) -> torch.Tensor:
        moved = self._on_mesh(values)
        for group in self.groups:
            dist.all_reduce(moved, op=op, group=group)
        return moved if moved is values else moved.to(values.device)


def mesh_device(device_type: str) -> torch.device | None:
    """The device a mesh of ``device_type`` runs its collectives on; None for the CPU."""
    if device_type == "cpu":
        return None
    module = getattr(torch, device_type, None)
    index = module.current_device() if module is not None else None
    return torch.device(device_type, index)
