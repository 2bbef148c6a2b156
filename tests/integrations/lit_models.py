"""A tiny LightningModule with a bug to plant, and the same training as a hand-written loop."""

from __future__ import annotations

import math

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

BUGS = ("none", "detached", "frozen", "high_lr")


def dataset(n: int = 256) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    return TensorDataset(x, (x[:, 0] * x[:, 1] > 0).long())


def loader(batch: int = 16) -> DataLoader:
    return DataLoader(dataset(), batch_size=batch, shuffle=False)


class TinyNet(pl.LightningModule):
    def __init__(self, bug: str = "none", lr: float = 3e-3, poison: int = -1) -> None:
        super().__init__()
        assert bug in BUGS
        self.bug = bug
        self.poison = poison  # the batch whose loss is made infinite (a step a scaler skips)
        self.fail_at = -1  # the batch whose training_step raises
        self.bypass_forward = False  # training_step calls self.net, never self(...)
        self.lr = 3.0 if bug == "high_lr" else lr
        torch.manual_seed(0)
        self.net = nn.Sequential(
            nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2)
        )
        self.losses: list[float] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.net[:2](x)
        if self.bug == "detached":
            h = h.detach()  # the first layer never gets a gradient
        return self.net[2:](h)

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x, y = batch
        out = self.net(x) if self.bypass_forward else self(x)
        return nn.functional.cross_entropy(out, y)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _idx: int) -> torch.Tensor:
        if _idx == self.fail_at:
            raise RuntimeError(f"planted failure at batch {_idx}")
        loss = self.loss(batch)
        self.losses.append(loss.item())
        return loss * math.inf if _idx == self.poison else loss

    def parameters_to_train(self) -> list[nn.Parameter]:
        if self.bug == "frozen":  # the middle layer is left out of the optimizer
            return [p for n, p in self.named_parameters() if not n.startswith("net.2.")]
        return list(self.parameters())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters_to_train(), lr=self.lr)


def hand_written(model: TinyNet, steps: int, record=None, clip: float | None = None, **watch):
    """The same training as Trainer(max_steps=steps), in a plain loop; watched when
    ``record`` is given. Returns the losses."""
    import gradtui

    opt = model.configure_optimizers()
    monitor = gradtui.watch(model, opt, record=record, **watch) if record else None
    batches = iter(loader())
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = model.loss(next(batches))
        losses.append(loss.item())
        loss.backward()
        if monitor is not None:
            monitor.step(loss)
            if clip:
                monitor.clip_grad_norm_(clip)
        elif clip:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
    if monitor is not None:
        monitor.close()
    return losses


def trainer(tmp_path, steps: int, **options) -> pl.Trainer:
    settings = {
        "accelerator": "cpu",
        "devices": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "num_sanity_val_steps": 0,
        "default_root_dir": tmp_path,
        **options,
    }
    return pl.Trainer(max_steps=steps, **settings)
