"""Lightning DDP on CPU (2 ranks, gloo), a training_step that calls only a submodule (so the
module's forward pre-hook sees training_step's arguments), and one poisoned step.

python tests/integrations/lit_ddp_script.py RECORD POISON_STEP
"""

from __future__ import annotations

import sys

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gradtui.integrations.lightning import GradtuiCallback


class Direct(pl.LightningModule):
    def __init__(self, poison: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
        self.poison = poison

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], idx: int) -> torch.Tensor:
        x, y = batch
        if idx == self.poison:
            x = x * torch.nan  # a non-finite forward, on a step without finiteness checks
        return nn.functional.cross_entropy(self.net(x), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)


def main() -> None:
    record, poison = sys.argv[1], int(sys.argv[2])
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 4, generator=g)
    data = DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=16)
    callback = GradtuiCallback(record=record, every=4)
    trainer = pl.Trainer(
        max_steps=8, accelerator="cpu", devices=2, strategy="ddp", callbacks=[callback],
        logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(Direct(poison), data)
    print(f"rank {trainer.global_rank}: recorded {callback.path}")


if __name__ == "__main__":
    main()
