"""A small LightningModule trained by Lightning's Trainer, watched by gradtui's callback.

python examples/lightning_train.py                    # train, print gradtui's findings
python examples/lightning_train.py --bug detached     # plant a bug: detached, frozen, high_lr
python examples/lightning_train.py --devices 2        # DDP on CPU (gloo): one file per rank
gradtui attach runs/lightning.jsonl                   # in another terminal, while it runs
gradtui report runs/lightning.jsonl --fail-on error
"""

from __future__ import annotations

import argparse

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gradtui.integrations.lightning import GradtuiCallback


class Classifier(pl.LightningModule):
    """An MLP on two interleaved spirals; ``bug`` plants one of three mistakes."""

    def __init__(self, bug: str = "none") -> None:
        super().__init__()
        self.bug = bug
        self.net = nn.Sequential(
            nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.net[:2](x)
        if self.bug == "detached":
            h = h.detach()  # the first layer is cut off from the loss
        return self.net[2:](h)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _idx: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        params = list(self.parameters())
        if self.bug == "frozen":  # the middle layer is left out of the optimizer
            params = [p for n, p in self.named_parameters() if not n.startswith("net.2.")]
        return torch.optim.Adam(params, lr=3.0 if self.bug == "high_lr" else 3e-3)


def spirals(n: int = 2048) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    t = torch.rand(n, generator=g) * 3 * torch.pi
    label = torch.randint(0, 2, (n,), generator=g)
    sign = label * 2 - 1
    x = torch.stack([t * torch.cos(t) * sign, t * torch.sin(t) * sign], dim=1) / 10
    return TensorDataset(x + 0.02 * torch.randn(n, 2, generator=g), label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--record", default="runs/lightning.jsonl")
    parser.add_argument("--bug", choices=("none", "detached", "frozen", "high_lr"), default="none")
    parser.add_argument("--devices", type=int, default=1, help="2 or more: DDP on CPU (gloo)")
    args = parser.parse_args()

    torch.manual_seed(0)
    callback = GradtuiCallback(record=args.record)
    trainer = pl.Trainer(
        max_steps=args.steps,
        accelerator="cpu",
        devices=args.devices,
        strategy="ddp" if args.devices > 1 else "auto",
        callbacks=[callback],
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=False,
    )
    trainer.fit(Classifier(args.bug), DataLoader(spirals(), batch_size=128, shuffle=True))
    print(f"rank {trainer.global_rank}: recorded {callback.path}")
    if trainer.global_rank == 0:
        for finding in callback.diagnoses():
            print(f"[{finding.severity}] {finding.kind}: {finding.message}")


if __name__ == "__main__":
    main()
