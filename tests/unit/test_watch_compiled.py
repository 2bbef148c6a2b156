"""gradtui.watch on a model under torch.compile: nothing of ours inside the compiled code.

The "aot_eager" backend runs dynamo and AOTAutograd, which is where hooks cause graph breaks and
recompiles, without generating kernels, so these tests need no C compiler and take seconds.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch._dynamo.utils import counters

import gradtui
from gradtui.events import RunStarted, StepStats

BACKEND = "aot_eager"


class Stack(nn.Module):
    """A loop over blocks: a graph break inside it would make dynamo give up on the forward."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(8, 8), nn.ReLU()) for _ in range(3))
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def compiled(model: nn.Module, how: str) -> nn.Module:
    if how == "wrapper":
        return torch.compile(model, backend=BACKEND)
    model.compile(backend=BACKEND)
    return model


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    counters.clear()
    yield
    torch._dynamo.reset()


def train(how: str, watched: bool, steps: int = 8, zero_grad: bool = True):
    torch.manual_seed(0)
    model = Stack()
    called = compiled(model, how)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    events: list = []
    monitor = gradtui.watch(called, opt, on_event=events.append, every=2) if watched else None
    losses = []
    for step in range(steps):
        x = torch.randn(16, 8, generator=torch.Generator().manual_seed(step))
        if zero_grad:
            opt.zero_grad()
        loss = (called(x) - x.sum(dim=1, keepdim=True)).square().mean()
        loss.backward()
        if monitor is not None:
            monitor.step(loss)
        opt.step()
        losses.append(loss.item())
    if monitor is not None:
        monitor.close()
    grads = [model.blocks[i][0].weight.grad.norm().item() for i in range(3)]
    graphs = counters["stats"]["unique_graphs"]
    breaks = sum(counters["graph_break"].values())
    return losses, events, grads, graphs, breaks


@pytest.mark.parametrize("how", ["wrapper", "in_place"])
def test_watching_leaves_the_compiled_graph_alone(how):
    bare_losses, _, _, bare_graphs, _ = train(how, watched=False)
    torch._dynamo.reset()
    counters.clear()
    losses, events, grads, graphs, breaks = train(how, watched=True)
    assert losses == bare_losses  # bit for bit
    assert (graphs, breaks) == (bare_graphs, 0)  # compiled once, never broken up
    started = next(e for e in events if isinstance(e, RunStarted))
    names = [layer.name for layer in started.layers]
    assert names == ["blocks.0.0", "blocks.1.0", "blocks.2.0", "head"]  # no "_orig_mod."
    assert started.blocks == ("Stack",)  # one link: the model's output
    steps = [e for e in events if isinstance(e, StepStats)]
    assert len(steps) == 8
    assert list(steps[-1].grad_norm[:3]) == pytest.approx(grads)
    assert all(s.block_grad_norm[0] is not None and s.block_grad_norm[0] > 0 for s in steps)
    assert all(s.dead_frac is None for s in steps)  # activations are not hooked


def test_a_missing_zero_grad_is_seen_on_a_compiled_model():
    _, events, _, _, _ = train("wrapper", watched=True, steps=4, zero_grad=False)
    carried = [s.carried_grad_norm for s in events if isinstance(s, StepStats)]
    assert carried[0] == 0 and all(c > 0 for c in carried[1:])


class LogOfZero(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.squash = nn.Softmax(dim=1)
        self.out = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.log(self.squash(self.fc(x) * 1e4)))  # log(0), then inf - inf


def test_the_first_non_finite_module_is_named_by_an_eager_replay():
    torch.manual_seed(0)
    model = LogOfZero()
    called = torch.compile(model, backend=BACKEND)
    events: list = []
    x = torch.randn(8, 4)
    with gradtui.watch(called, on_event=events.append, every=100) as monitor:
        for _ in range(2):
            model.zero_grad()
            loss = called(x).sum()
            loss.backward()
            monitor.step(loss)
    assert [s.nonfinite_source for s in events if isinstance(s, StepStats)] == ["out", "out"]
    assert sum(counters["graph_break"].values()) == 0
