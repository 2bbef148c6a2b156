"""``make`` functions for ``gradtui check`` built from the models and data in examples/."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _example(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"_example_{name}", EXAMPLES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def make_plain_mlp():
    from torch import nn

    example = _example("plain_mlp")
    torch.manual_seed(0)
    x, y = example.spirals(256)
    model = nn.Sequential(
        nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
        nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2),
    )  # fmt: skip
    return model, F.cross_entropy, (x[:64], y[:64]), torch.optim.Adam(model.parameters(), 3e-3)


def make_cnn():
    example = _example("cnn")
    torch.manual_seed(0)
    x, y = example.bars(64)
    model = example.SmallCNN()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return model, F.cross_entropy, (x, y), opt


def make_transformer_block():
    example = _example("transformer_block")
    torch.manual_seed(0)
    model = example.Reverser()
    tokens = torch.randint(0, example.VOCAB, (64, example.LENGTH))

    def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.reshape(-1, example.VOCAB), target.reshape(-1))

    return model, loss_fn, (tokens, tokens.flip(1)), torch.optim.AdamW(model.parameters(), 1e-2)


def make_lstm_copy():
    example = _example("lstm_copy")
    torch.manual_seed(0)
    model = example.Recall()
    tokens = torch.randint(0, example.VOCAB, (32, example.LENGTH))
    delay = example.DELAY

    def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(
            logits[:, delay:].reshape(-1, example.VOCAB), target[:, delay:].reshape(-1)
        )

    return (
        model,
        loss_fn,
        (tokens, tokens.roll(delay, dims=1)),
        torch.optim.Adam(model.parameters(), 1e-2),
    )


EXAMPLE_MAKERS = ["make_plain_mlp", "make_cnn", "make_transformer_block", "make_lstm_copy"]
