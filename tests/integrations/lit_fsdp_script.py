"""Lightning on CPU (2 ranks, gloo) with FSDP2: ModelParallelStrategy, each layer and the
root ``fully_shard``ed in ``configure_model``; or the same model under DDP, to compare.

python tests/integrations/lit_fsdp_script.py RECORD fsdp2|ddp
"""

from __future__ import annotations

import sys

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gradtui.integrations.lightning import GradtuiCallback


class Sharded(pl.LightningModule):
    def __init__(self, shard: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 9), nn.ReLU())
        self.head = nn.Linear(9, 2)  # 9 rows: uneven shards over 2 ranks
        self.shard = shard

    def configure_model(self) -> None:
        if not self.shard:
            return
        from torch.distributed.fsdp import fully_shard

        mesh = self.device_mesh["data_parallel"]
        for module in (self.net[0], self.net[2], self.head):
            fully_shard(module, mesh=mesh)
        fully_shard(self, mesh=mesh)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], idx: int) -> torch.Tensor:
        x, y = batch
        return nn.functional.cross_entropy(self.head(self.net(x)), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=0.01)


def main() -> None:
    record, how = sys.argv[1], sys.argv[2]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 4, generator=g)
    data = DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=16)
    callback = GradtuiCallback(record=record, every=4)
    if how == "fsdp2":
        from lightning.pytorch.strategies import ModelParallelStrategy

        strategy = ModelParallelStrategy(data_parallel_size=2, tensor_parallel_size=1)
    else:
        strategy = "ddp"
    trainer = pl.Trainer(
        max_steps=8, accelerator="cpu", devices=2, strategy=strategy, callbacks=[callback],
        gradient_clip_val=None, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(Sharded(how == "fsdp2"), data)
    print(f"rank {trainer.global_rank}: recorded {callback.path}")


if __name__ == "__main__":
    main()
