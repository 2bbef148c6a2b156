"""Small models for ``gradtui check``: a healthy one, and one per planted bug.

Each ``make_*`` returns (model, loss_fn, batch, optimizer) as ``gradtui check FILE:FUNC``
expects; ``BUGS`` maps each to the check line it must fail.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn
from torch.nn import functional as F


def _data(classes: int = 0, n: int = 32, inputs: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, inputs, generator=g)
    if classes:
        return x, torch.randint(0, classes, (n,), generator=g)
    return x, torch.randn(n, 1, generator=g)


def _mlp(*widths: int, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def make_healthy():
    torch.manual_seed(0)
    model = _mlp(6, 32, 32, 1)
    return model, F.mse_loss, _data(), torch.optim.Adam(model.parameters(), lr=1e-2)


def make_healthy_classifier():
    torch.manual_seed(0)
    model = _mlp(6, 32, 3)
    return model, F.cross_entropy, _data(3), torch.optim.SGD(model.parameters(), lr=0.5)


class ScaledMLP(nn.Module):
    """A learned output scale kept as a plain tensor: parameters() does not see it."""

    def __init__(self) -> None:
        super().__init__()
        self.body = _mlp(6, 32, 1)
        self.scale = torch.ones(1, requires_grad=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) * self.scale


def make_plain_tensor():
    torch.manual_seed(0)
    model = ScaledMLP()
    return model, F.mse_loss, _data(), torch.optim.Adam(model.parameters(), lr=1e-2)


def make_optimizer_missing():
    torch.manual_seed(0)
    model = _mlp(6, 32, 32, 1)
    opt = torch.optim.Adam(model[2:].parameters(), lr=1e-2)  # the first layer left out
    return model, F.mse_loss, _data(), opt


class Detached(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = _mlp(6, 32)
        self.head = _mlp(32, 32, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.encoder(x)).detach())


def make_detached():
    torch.manual_seed(0)
    model = Detached()
    return model, F.mse_loss, _data(), torch.optim.Adam(model.parameters(), lr=1e-2)


def log_softmax_by_hand(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.nll_loss(torch.log(torch.softmax(logits, dim=1)), target)


def make_log_softmax():
    model, _loss, batch, opt = make_healthy_classifier()
    return model, log_softmax_by_hand, batch, opt


def _deep(activation: type[nn.Module], depth: int, scale: float | None) -> nn.Sequential:
    torch.manual_seed(0)
    model = _mlp(6, *([32] * depth), 1, activation=activation)
    if scale is not None:
        with torch.no_grad():
            for layer in model:
                if isinstance(layer, nn.Linear):
                    layer.weight.normal_(0.0, scale)
    return model


def make_exploding_init():
    model = _deep(nn.ReLU, 10, 1.0)  # std 1 where Kaiming is 0.25: x2.8 a layer
    return model, F.mse_loss, _data(), torch.optim.SGD(model.parameters(), lr=1e-3)


def make_vanishing_init():
    model = _deep(nn.Sigmoid, 12, None)
    return model, F.mse_loss, _data(), torch.optim.SGD(model.parameters(), lr=0.1)


def make_lr_zero():
    torch.manual_seed(0)
    model = _mlp(6, 32, 32, 1)
    return model, F.mse_loss, _data(), torch.optim.SGD(model.parameters(), lr=0.0)


def make_frozen():
    torch.manual_seed(0)
    model = _mlp(6, 32, 32, 1).requires_grad_(False)
    return model, F.mse_loss, _data(), torch.optim.SGD(model.parameters(), lr=0.1)


class InPlace(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = _mlp(6, 32)
        self.head = nn.Linear(32, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.sigmoid(self.body(x))
        h += 0.01  # sigmoid's backward needs its output as it was
        return self.head(h)


def make_inplace():
    torch.manual_seed(0)
    model = InPlace()
    return model, F.mse_loss, _data(), torch.optim.Adam(model.parameters(), lr=1e-2)


# planted bug -> the check line it fails
BUGS = {
    "make_plain_tensor": "parameters",
    "make_optimizer_missing": "optimizer",
    "make_detached": "loss_reaches_params",
    "make_log_softmax": "graph",
    "make_exploding_init": "magnitudes",
    "make_vanishing_init": "magnitudes",
    "make_lr_zero": "overfit",
    "make_frozen": "loss_reaches_params",
    "make_inplace": "loss_reaches_params",
}
