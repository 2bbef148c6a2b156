"""User-style training loops under gradtui.watch, for the trust tests: our own small models
(an MLP, a CNN, a GRU, a small transformer), seeded data, and what the monitor concluded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

import gradtui
from gradtui.events import Diagnosis, RunStarted, StepStats


class CharMLP(nn.Module):
    """A character MLP (embedding, two hidden tanh layers, a head) with scaled init."""

    def __init__(self, vocab: int = 12, context: int = 3, dim: int = 8, hidden: int = 48):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.fc1 = nn.Linear(context * dim, hidden)
        self.act1 = nn.Tanh()
        self.fc2 = nn.Linear(hidden, hidden)
        self.act2 = nn.Tanh()
        self.head = nn.Linear(hidden, vocab)
        with torch.no_grad():  # scaled init: tanh gain over sqrt(fan_in), a small head
            for fc in (self.fc1, self.fc2):
                fc.weight.mul_(5 / 3 * 3**0.5)
            self.head.weight.mul_(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x).flatten(1)
        return self.head(self.act2(self.fc2(self.act1(self.fc1(h)))))


class SmallCNN(nn.Module):
    """A small ResNet-style CNN with batch norm and one residual block."""

    def __init__(self, width: int = 8, classes: int = 4) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
        self.conv1 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.head = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))
        return self.head(x.mean((2, 3)))


class GRUNet(nn.Module):
    def __init__(self, vocab: int = 10, dim: int = 16, hidden: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.rnn = nn.GRU(dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(self.embed(x))[0])


class TinyGPT(nn.Module):
    """Token and position embeddings, pre-norm blocks (causal attention, MLP), a head."""

    def __init__(self, vocab: int = 16, dim: int = 32, blocks: int = 2, length: int = 8):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(length, dim)
        layer = nn.TransformerEncoderLayer(
            dim, 4, 4 * dim, dropout=0.0, batch_first=True, norm_first=True, activation="gelu"
        )
        self.blocks = nn.TransformerEncoder(layer, blocks, enable_nested_tensor=False)
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(length))
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[1]
        h = self.tok(x) + self.pos(torch.arange(n))
        h = self.blocks(h, mask=self.mask[:n, :n], is_causal=True)
        return self.head(self.ln(h))


def deep_relu_mlp(width: int = 32, depth: int = 6, inputs: int = 8, outputs: int = 4):
    """nn.Sequential(Linear, ReLU, Linear, ReLU, ..., Linear): the common layout."""
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(inputs if i == 0 else width, width), nn.ReLU()]
    layers.append(nn.Linear(width, outputs))
    return nn.Sequential(*layers)


# -- data: each task is learnable, so a healthy run's loss falls -----------------------------
def char_batch(step: int, vocab: int = 12, batch: int = 32, context: int = 3):
    g = torch.Generator().manual_seed(step)
    x = torch.randint(0, vocab, (batch, context), generator=g)
    return x, (x[:, -1] * 5 + 1) % vocab  # the next character follows from the last one


def image_batch(step: int, batch: int = 16, classes: int = 4, size: int = 8):
    g = torch.Generator().manual_seed(step)
    y = torch.randint(0, classes, (batch,), generator=g)
    x = torch.randn(batch, 1, size, size, generator=g) * 0.5
    for c in range(classes):  # a bright quadrant says the class
        r, k = divmod(c, 2)
        half = size // 2
        x[y == c, 0, r * half : (r + 1) * half, k * half : (k + 1) * half] += 1.5
    return x, y


def sequence_batch(step: int, vocab: int = 10, batch: int = 16, length: int = 8):
    g = torch.Generator().manual_seed(step)
    x = torch.randint(0, vocab, (batch, length), generator=g)
    return x, x.roll(1, dims=1)  # recall the previous token


def token_batch(step: int, vocab: int = 16, batch: int = 16, length: int = 8):
    g = torch.Generator().manual_seed(step)
    start = torch.randint(0, vocab, (batch, 1), generator=g)
    seq = (start + torch.arange(length + 1)) % vocab  # count upwards: next token is learnable
    return seq[:, :-1], seq[:, 1:]


def regression_batch(step: int, inputs: int = 8, outputs: int = 4, batch: int = 64):
    g = torch.Generator().manual_seed(step)
    x = torch.randn(batch, inputs, generator=g)
    w = torch.linspace(-1, 1, inputs * outputs).reshape(inputs, outputs)
    return x, torch.tanh(x @ w)


def cross_entropy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


@dataclass
class Result:
    started: RunStarted | None
    steps: list[StepStats]
    diagnoses: list[Diagnosis]
    status: tuple[str, ...]
    losses: list[float] = field(default_factory=list)

    def kinds(self, floor: str = "info") -> set[str]:
        order = {"error": 0, "warning": 1, "info": 2}
        return {d.kind for d in self.diagnoses if order[d.severity] <= order[floor]}

    def one(self, kind: str) -> Diagnosis:
        found = [d for d in self.diagnoses if d.kind == kind]
        assert found, f"no {kind} in {[(d.kind, d.severity) for d in self.diagnoses]}"
        return found[0]

    def above_info(self) -> list[tuple[str, str, str]]:
        return [(d.kind, d.severity, d.message) for d in self.diagnoses if d.severity != "info"]

    def status_of(self, layer: str) -> str:
        assert self.started is not None
        names = [layer.name for layer in self.started.layers]
        return self.status[names.index(layer)]


def train(
    model: nn.Module,
    batch: Callable[[int], tuple[torch.Tensor, torch.Tensor]],
    steps: int,
    make_optimizer: Callable[[nn.Module], torch.optim.Optimizer] | None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = cross_entropy,
    clip: float | None = None,
    watch_optimizer: bool = True,
    every: int = 8,
    optimizer: torch.optim.Optimizer | None = None,
) -> Result:
    """The README's three-line loop around a plain training loop."""
    torch.set_num_threads(1)
    opt = optimizer if optimizer is not None else make_optimizer(model)  # type: ignore[misc]
    events: list = []
    monitor = gradtui.watch(
        model, optimizer=opt if watch_optimizer else None, every=every, on_event=events.append
    )
    losses = []
    for step in range(steps):
        x, y = batch(step)
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        monitor.step(loss)
        if clip is not None:
            monitor.clip_grad_norm_(clip)
        opt.step()
        losses.append(loss.item())
    monitor.close()
    assert monitor.diagnoser is not None
    return Result(
        started=next((e for e in events if isinstance(e, RunStarted)), None),
        steps=[e for e in events if isinstance(e, StepStats)],
        diagnoses=monitor.diagnoses(),
        status=monitor.diagnoser.layer_status(),
        losses=losses,
    )


def adam(model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer most users start with, at a rate these small models learn at."""
    return torch.optim.Adam(model.parameters(), lr=3e-3)


def seeded(make: Callable[[], nn.Module], seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return make()
