"""Where this process stands in a distributed run (torch.distributed), and what follows from it:
which recording file it writes, how it names itself, which module it watches."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from torch import distributed as dist
from torch import nn

from gradtui.recording.paths import rank_path, split_rank
from gradtui.watch.compiled import optimized_module_type


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @classmethod
    def detect(cls) -> World:
        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size())
        return cls()

    @staticmethod
    def unwrap(model: nn.Module) -> nn.Module:
        """The user's module inside DistributedDataParallel, DataParallel and torch.compile
        wrappers, so layers are named as the user named them (``fc1``, not ``module.fc1`` or
        ``_orig_mod.fc1``)."""
        optimized = optimized_module_type()
        while True:
            if isinstance(model, nn.parallel.DistributedDataParallel | nn.DataParallel):
                model = model.module
            elif optimized is not None and isinstance(model, optimized):
                model = model._orig_mod
            else:
                return model

    @staticmethod
    def unsupported(model: nn.Module) -> str | None:
        """Why ``model`` cannot be watched, or None. FSDP1 flattens each wrapped module's
        parameters into one sharded buffer: the layers' own gradients are not there to
        measure. (FSDP2's ``fully_shard`` keeps them, as DTensors: see probe/sharded_probe.)"""
        fsdp = sys.modules.get("torch.distributed.fsdp")
        wrapper = getattr(fsdp, "FullyShardedDataParallel", None)
        if wrapper is not None and any(isinstance(m, wrapper) for m in model.modules()):
            return (
                "a model wrapped in FullyShardedDataParallel (FSDP1); shard it with "
                "torch.distributed.fsdp.fully_shard (FSDP2) instead, which gradtui watches "
                "(Lightning: ModelParallelStrategy with fully_shard in configure_model; the "
                "HF Trainer: fsdp_config version 2)"
            )
        return None

    def record_path(self, record: str | Path | None) -> Path | None:
        """Each rank of a distributed run writes its own file: runs/x.jsonl -> x.rank1.jsonl."""
        if record is None:
            return None
        path = Path(record)
        return rank_path(path, self.rank) if self.size > 1 else path

    def base_name(self, record: str | Path) -> str:
        return split_rank(Path(record))[0].stem

    def title_suffix(self) -> str:
        return f" · rank {self.rank}/{self.size}" if self.size > 1 else ""
