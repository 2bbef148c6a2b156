"""Run gradtui's quick checks on a model before a long run.

    gradtui check examples/check_before_training.py:make         # two planted bugs: exit 1
    gradtui check examples/check_before_training.py:make_fixed   # the same model fixed: exit 0
    python examples/check_before_training.py                     # the same, from Python

make() returns (model, loss_fn, batch[, optimizer]); the checks run on copies, so the model
and the optimizer you pass are left exactly as they were.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

import gradtui


class Classifier(nn.Module):
    def __init__(self, inputs: int = 10, classes: int = 4) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(inputs, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
        self.head = nn.Linear(64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def batch(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 10, generator=g), torch.randint(0, 4, (n,), generator=g)


def log_softmax_by_hand(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.nll_loss(torch.log(torch.softmax(logits, dim=1)), target)  # bug: log(softmax)


def make():
    torch.manual_seed(0)
    model = Classifier()
    opt = torch.optim.Adam(model.body.parameters(), lr=1e-2)  # bug: the head is left out
    return model, log_softmax_by_hand, batch(), opt


def make_fixed():
    torch.manual_seed(0)
    model = Classifier()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    return model, F.cross_entropy, batch(), opt


if __name__ == "__main__":
    model, loss_fn, data, opt = make()
    report = gradtui.check(model, loss_fn, data, optimizer=opt)  # prints the checklist
    print("\nfailed:", report.failed())
