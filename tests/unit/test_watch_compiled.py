"""gradtui.watch on a model under torch.compile: nothing of ours inside the compiled code.

The "aot_eager" backend runs dynamo and AOTAutograd, which is where hooks cause graph breaks and
recompiles, without generating kernels, so these tests need no C compiler and take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn
from torch._dynamo.utils import counters

import gradtui
from gradtui.events import Diagnosis, RunStarted, StepStats

BACKEND = "aot_eager"


class Stack(nn.Module):
    """A loop over blocks: a graph break inside it would make dynamo give up on the forward."""

    def __init__(self, depth: int = 3, activation: type[nn.Module] = nn.ReLU) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(8, 8), activation()) for _ in range(depth)
        )
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


def train(how: str, watched: bool, steps: int = 8, zero_grad: bool = True, **stack):
    torch.manual_seed(0)
    model = Stack(**stack)
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
    return Trained(
        losses=losses,
        events=events,
        diagnoses=monitor.diagnoses() if monitor is not None else [],
        grads=[model.blocks[i][0].weight.grad.norm().item() for i in range(3)],
        graphs=counters["stats"]["unique_graphs"],
        breaks=sum(counters["graph_break"].values()),
    )


@dataclass
class Trained:
    losses: list[float]
    events: list
    diagnoses: list[Diagnosis]
    grads: list[float]  # the first three layers' gradient norms after the last backward
    graphs: int  # graphs dynamo made
    breaks: int  # graph breaks dynamo met


@pytest.mark.parametrize("how", ["wrapper", "in_place"])
def test_watching_leaves_the_compiled_graph_alone(how):
    bare = train(how, watched=False)
    torch._dynamo.reset()
    counters.clear()
    watched = train(how, watched=True)
    assert watched.losses == bare.losses  # bit for bit
    assert (watched.graphs, watched.breaks) == (bare.graphs, 0)  # compiled once, never broken
    started = next(e for e in watched.events if isinstance(e, RunStarted))
    names = [layer.name for layer in started.layers]
    assert names == ["blocks.0.0", "blocks.1.0", "blocks.2.0", "head"]  # no "_orig_mod."
    assert started.blocks == ("Stack",)  # one link: the model's output
    steps = [e for e in watched.events if isinstance(e, StepStats)]
    assert len(steps) == 8
    assert list(steps[-1].grad_norm[:3]) == pytest.approx(watched.grads)
    assert all(s.block_grad_norm[0] is not None and s.block_grad_norm[0] > 0 for s in steps)
    assert all(s.dead_frac is None for s in steps)  # activations are not hooked
    assert "vanishing_gradients" not in {d.kind for d in watched.diagnoses}


def test_vanishing_is_found_on_a_compiled_sigmoid_stack_from_its_layers():
    run = train("wrapper", watched=True, steps=10, depth=10, activation=nn.Sigmoid)
    vanishing = [d for d in run.diagnoses if d.kind == "vanishing_gradients"]
    assert vanishing and "blocks.0.0" in vanishing[0].layers
    started = next(e for e in run.events if isinstance(e, RunStarted))
    assert started.activation == "sigmoid"  # named, though not hooked
    assert "measures no links" in vanishing[0].message


def test_a_missing_zero_grad_is_seen_on_a_compiled_model():
    run = train("wrapper", watched=True, steps=4, zero_grad=False)
    carried = [s.carried_grad_norm for s in run.events if isinstance(s, StepStats)]
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
