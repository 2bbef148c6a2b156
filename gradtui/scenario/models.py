"""Build a scenario's network and data from its spec."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from gradtui.scenario.spec import DataSpec, ModelSpec, ScenarioSpec

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}


class Block(nn.Module):
    """One link of the chain: a Linear, an optional norm, an activation.

    Plain: act(norm(linear(x))). Residual (pre-activation form): x + linear(act(norm(x))); the
    branch ends in a zero-mean linear map, so a deep stack of them stays stable even with
    sigmoid, where x + sigmoid(linear(x)) would drift upwards by about 0.5 per block.
    """

    def __init__(
        self,
        width_in: int,
        width: int,
        spec: ModelSpec,
        residual: bool,
        detach_input: bool = False,
        inplace_fault: bool = False,
    ) -> None:
        super().__init__()
        self.residual = residual
        self.detach_input = detach_input
        self.inplace_fault = inplace_fault
        # Registration order is forward order, so named_modules() lists layers as they run.
        if residual:
            self.norm = make_norm(spec.norm, width_in)
            self.linear = nn.Linear(width_in, width)
        else:
            self.linear = nn.Linear(width_in, width)
            self.norm = make_norm(spec.norm, width)
        self.act = ACTIVATIONS[spec.activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.detach_input:
            x = x.detach()  # fault: the chain is cut here; nothing before gets a gradient
        if self.residual:
            h = self.norm(x) if self.norm is not None else x
            return x + self.linear(self._activate(h))
        h = self.linear(x)
        if self.norm is not None:
            h = self.norm(h)
        return self._activate(h)

    def _activate(self, h: torch.Tensor) -> torch.Tensor:
        out = self.act(h)
        if self.inplace_fault:
            out += 0.01  # fault: changes in place a tensor the activation's backward needs
        return out


def make_norm(kind: str, width: int) -> nn.Module | None:
    if kind == "batch":
        return nn.BatchNorm1d(width)
    if kind == "layer":
        return nn.LayerNorm(width)
    return None


class Net(nn.Module):
    """blocks.0 .. blocks.{depth-1}, then a linear head; the chain's links in forward order."""

    def __init__(self, spec: ScenarioSpec) -> None:
        super().__init__()
        model, data, fault = spec.model, spec.data, spec.fault
        self.blocks = nn.ModuleList(
            Block(
                data.inputs if i == 0 else model.width,
                model.width,
                model,
                residual=model.residual and i > 0,
                detach_input=fault.detach_at == i,
                inplace_fault=fault.inplace_at == i,
            )
            for i in range(model.depth)
        )
        self.head = nn.Linear(model.width, data.outputs)
        # Called with (link index, output) for each block and the head: a probe's way in that
        # costs less than a forward hook on every block.
        self.tap: Callable[[int, torch.Tensor], None] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tap = self.tap
        for index, block in enumerate(self.blocks):
            x = block(x)
            if tap is not None:
                tap(index, x)
        out = self.head(x)
        if tap is not None:
            tap(len(self.blocks), out)
        return out


def initialise(net: nn.Module, spec: ModelSpec) -> None:
    if spec.init == "default":
        return
    for module in net.modules():
        if not isinstance(module, nn.Linear):
            continue
        if spec.init == "kaiming":
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        elif spec.init == "xavier":
            nn.init.xavier_normal_(module.weight)
        else:
            nn.init.uniform_(module.weight, -spec.init_scale, spec.init_scale)
        nn.init.zeros_(module.bias)


def build_model(spec: ScenarioSpec) -> Net:
    torch.manual_seed(spec.data.seed)
    net = Net(spec)
    initialise(net, spec.model)
    return net


@dataclass(frozen=True)
class Dataset:
    x: torch.Tensor
    y: torch.Tensor  # float targets (regression) or class indices (classification)


def make_data(spec: DataSpec) -> Dataset:
    """Inputs N(0, scale^2); targets from a fixed random teacher, so the task is learnable."""
    gen = torch.Generator().manual_seed(spec.seed + 1)
    # In place, and no scaled-back copy at scale 1: the inputs are held once, not twice, and
    # the numbers are the same bit for bit (scenario/budget.py counts what is left).
    x = torch.randn(spec.samples, spec.inputs, generator=gen).mul_(spec.input_scale)
    mixing = torch.randn(spec.inputs, spec.outputs, generator=gen) / spec.inputs**0.5
    teacher = (x if spec.input_scale == 1.0 else x / spec.input_scale) @ mixing
    if spec.task == "classification":
        return Dataset(x, teacher.argmax(dim=1))
    return Dataset(x, torch.sin(2.0 * teacher) + 0.5 * teacher)


def batches(data: Dataset, batch: int, seed: int):
    """An endless, seeded stream of minibatches."""
    gen = torch.Generator().manual_seed(seed + 2)
    n = data.x.shape[0]
    while True:
        if batch >= n:
            yield data.x, data.y
            continue
        index = torch.randint(0, n, (batch,), generator=gen)
        yield data.x[index], data.y[index]
