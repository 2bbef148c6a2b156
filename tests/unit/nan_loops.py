"""Training loops that go NaN the way users' do, each with its fixed twin, under gradtui.watch.

``recorded`` runs one in a hand-written loop with a recording, then diagnoses the recording
as ``gradtui report`` does: what a user would read afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

import gradtui
from gradtui.events import StepStats
from gradtui.recording import read_recording
from gradtui.report.build import build_report, diagnose

Batch = Callable[[int], tuple[torch.Tensor, torch.Tensor]]


@dataclass
class Outcome:
    report: dict
    steps: list[StepStats]

    @property
    def findings(self) -> list[dict]:
        return self.report["diagnoses"]

    def nonfinite(self) -> dict | None:
        return next((d for d in self.findings if d["kind"] == "nonfinite"), None)

    def says(self, words: str) -> bool:
        text = " ".join(d["message"] + d["why"] + d["fix"] for d in self.findings)
        return words.lower() in text.lower()


def recorded(
    tmp_path: Path,
    name: str,
    model: nn.Module,
    opt: torch.optim.Optimizer,
    batch: Batch,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    steps: int,
    **options: object,
) -> Outcome:
    torch.set_num_threads(1)
    path = tmp_path / f"{name}.jsonl"
    events: list = []
    watched = gradtui.watch(model, opt, record=path, every=4, on_event=events.append, **options)
    with watched as monitor:
        for step in range(steps):
            x, y = batch(step)
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            monitor.step(loss)
            opt.step()
    read = read_recording(path).events
    diagnoser = diagnose(read)
    report = build_report(read, diagnoser.diagnoses(), diagnoser.links(), diagnoser.layer_status())
    return Outcome(report, [e for e in read if isinstance(e, StepStats)])


def _gen(step: int) -> torch.Generator:
    return torch.Generator().manual_seed(1000 + step)


# -- an MLP on a table ------------------------------------------------------------------------
def mlp(inputs: int = 6, dtype: torch.dtype = torch.float32) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(inputs, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
    model.append(nn.Linear(32, 1))
    return model.to(dtype)


def table_batch(missing_at: int | None, dtype: torch.dtype = torch.float32) -> Batch:
    """Rows of six features; ``missing_at``: that step's batch has an empty cell, read as NaN
    in column 2 (a CSV with a gap), which nobody filled."""

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = _gen(step)
        x = torch.randn(64, 6, generator=g)
        y = (x[:, :3].sum(1, keepdim=True) * 0.3).tanh()
        if step == missing_at:
            x[[5, 17], 2] = math.nan
        return x.to(dtype), y.to(dtype)

    return batch


def small_regression(dtype: torch.dtype) -> Batch:
    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = _gen(step)
        x = torch.randn(64, 6, generator=g)
        return x.to(dtype), (0.01 * x[:, :1]).to(dtype)

    return batch


def mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(out.float(), y.float())


class PairwiseNet(nn.Module):
    """Each example's mean distance to the others in the batch as an extra feature (a set
    or graph layer written out): the distance of an example to itself is sqrt(0)."""

    def __init__(self, eps: float = 0.0) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.encode = nn.Linear(6, 16)
        self.head = nn.Linear(17, 1)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.encode(x))
        squared = ((h[:, None, :] - h[None, :, :]) ** 2).sum(-1)
        distance = torch.sqrt(squared + self.eps).mean(1, keepdim=True)
        return self.head(torch.cat([h, distance], 1))


# -- a CNN ------------------------------------------------------------------------------------
class ConvNet(nn.Module):
    """Two convolutions, pooling (``pool``: "mean" or "sum"), a linear head."""

    def __init__(self, pool: str = "mean") -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.head = nn.Linear(16, 4)
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        f = h.sum((2, 3)) if self.pool == "sum" else h.mean((2, 3))
        return self.head(f)


def image_batch(scale: float = 1.0, corrupt_at: int | None = None, size: int = 8) -> Batch:
    """Images whose bright quadrant is the class; ``scale``: 255 for pixels left as bytes
    instead of [0, 1]; ``corrupt_at``: that step's batch holds an image decoded as NaN."""

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = _gen(step)
        y = torch.randint(0, 4, (16,), generator=g)
        x = torch.rand(16, 1, size, size, generator=g) * 0.5
        half = size // 2
        for c in range(4):
            r, k = divmod(c, 2)
            x[y == c, 0, r * half : r * half + half, k * half : k * half + half] += 0.5
        if step == corrupt_at:
            x[3] = math.nan
        return x * scale, y

    return batch


def cross_entropy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out.float().reshape(-1, out.shape[-1]), y.reshape(-1))


def log_of_softmax(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The hand-written cross entropy: log(softmax) rounds a probability to 0."""
    probs = torch.softmax(out.reshape(-1, out.shape[-1]), dim=-1)
    return F.nll_loss(torch.log(probs), y.reshape(-1))


# -- a recurrent model ----------------------------------------------------------------------
class Tagger(nn.Module):
    def __init__(self, vocab: int = 10, dim: int = 16, hidden: int = 32, cell: str = "gru"):
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(vocab, dim)
        self.rnn = (nn.GRU if cell == "gru" else nn.LSTM)(dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(self.embed(x))[0])


def sequence_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randint(0, 10, (16, 8), generator=_gen(step))
    return x, x.roll(1, dims=1)


# -- a small transformer with padding masks --------------------------------------------------
class Attention(nn.Module):
    """Self-attention written out, with a key padding mask filled before the softmax."""

    def __init__(self, dim: int, fill: str) -> None:
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.fill = fill

    def forward(self, h: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(h).chunk(3, dim=-1)
        scores = q @ k.transpose(1, 2) / math.sqrt(q.shape[-1])
        value = float("-inf") if self.fill == "-inf" else torch.finfo(scores.dtype).min
        scores = scores.masked_fill(pad[:, None, :], value)
        return self.proj(torch.softmax(scores, dim=-1) @ v)


class PaddedEncoder(nn.Module):
    def __init__(self, vocab: int = 12, dim: int = 16, fill: str = "-inf") -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(vocab, dim)
        self.attn = Attention(dim, fill)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        pad = tokens == 0
        h = self.embed(tokens)
        h = self.norm(h + self.attn(h, pad))
        return self.head(h.mean(1))


def padded_batch(empty_at: int | None) -> Batch:
    """Sequences padded with token 0 to length 6; ``empty_at``: that step's batch holds an
    empty sequence (all padding), as a filter that left a text with no tokens makes."""

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = _gen(step)
        tokens = torch.randint(1, 12, (16, 6), generator=g)
        lengths = torch.randint(2, 7, (16,), generator=g)
        if step == empty_at:
            lengths[4] = 0
        tokens[torch.arange(6)[None, :] >= lengths[:, None]] = 0
        return tokens, (tokens[:, 0] % 2)

    return batch


# -- conditional computation: a routed mixture of experts -------------------------------------
class Expert(nn.Module):
    """A linear map whose output is scaled to unit length (cosine-style features)."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.fc = nn.Linear(dim, dim)
        self.eps = eps

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.fc(h))
        return out / (out.norm(dim=1, keepdim=True) + self.eps)


class RoutedMixture(nn.Module):
    """Each example goes to the one expert its router scores highest (hard routing)."""

    def __init__(self, eps: float = 0.0, experts: int = 3, dim: int = 8) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.embed = nn.Linear(6, dim)
        self.router = nn.Linear(dim, experts)
        self.experts = nn.ModuleList(Expert(dim, eps) for _ in range(experts))
        self.head = nn.Linear(dim, 1)
        with torch.no_grad():  # expert 2's units start dead on negative inputs
            self.experts[2].fc.bias.fill_(-3.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.embed(x))
        choice = self.router(h).argmax(1)
        out = torch.zeros_like(h)
        for i, expert in enumerate(self.experts):
            chosen = choice == i
            if chosen.any():
                out[chosen] = expert(h[chosen])
        return self.head(out)
