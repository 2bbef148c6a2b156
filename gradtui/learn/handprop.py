"""Exercise 1 by hand: a 2-3-1 MLP's forward and backward pass from the formulas, in plain Python.

x (2) -> z1 = W1 x + b1 (3) -> h = f(z1) -> y = W2 h + b2 (1) -> L = (y - t)^2, one example,
f = sigmoid or tanh. ``backward_lines`` is the backward pass one chain-rule line at a time;
autograd's values for the same lines come from ``gradtui.learn.oracle`` (torch, elsewhere).
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass

ACTIVATIONS = ("sigmoid", "tanh")
HIDDEN, INPUTS = 3, 2


@dataclass(frozen=True)
class Net:
    """The weights, the one example and its target: everything the pass depends on."""

    W1: tuple[tuple[float, ...], ...]  # HIDDEN x INPUTS
    b1: tuple[float, ...]
    W2: tuple[float, ...]  # the one output row
    b2: float
    x: tuple[float, ...]
    t: float
    activation: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Forward:
    z1: tuple[float, ...]
    h: tuple[float, ...]
    y: float
    loss: float


@dataclass(frozen=True)
class Line:
    """One line of the backward pass: the gradient it computes, its formula, its value."""

    key: str  # y, W2, b2, h, z1, W1, b1: the tensor whose gradient this is
    label: str  # ∂L/∂W2
    formula: str  # ∂L/∂y · hᵀ
    value: tuple[float, ...]  # flattened, row-major
    shape: tuple[int, ...]  # () for a scalar, as torch shapes the same gradient


def random_net(seed: int, activation: str = "sigmoid") -> Net:
    rng = random.Random(seed)

    def draw() -> float:
        return round(rng.uniform(-1.5, 1.5), 3)

    return Net(
        W1=tuple(tuple(draw() for _ in range(INPUTS)) for _ in range(HIDDEN)),
        b1=tuple(draw() for _ in range(HIDDEN)),
        W2=tuple(draw() for _ in range(HIDDEN)),
        b2=draw(),
        x=tuple(draw() for _ in range(INPUTS)),
        t=draw(),
        activation=activation,
    )


def act(z: float, activation: str) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if activation == "sigmoid" else math.tanh(z)


def forward(net: Net) -> Forward:
    z1 = tuple(
        sum(w * xi for w, xi in zip(row, net.x, strict=True)) + b
        for row, b in zip(net.W1, net.b1, strict=True)
    )
    h = tuple(act(z, net.activation) for z in z1)
    y = sum(w * hi for w, hi in zip(net.W2, h, strict=True)) + net.b2
    return Forward(z1, h, y, (y - net.t) ** 2)


def derivative_formula(activation: str) -> str:
    return "h ⊙ (1 − h)" if activation == "sigmoid" else "(1 − h²)"


def backward_lines(net: Net) -> list[Line]:
    f = forward(net)
    dy = 2.0 * (f.y - net.t)
    dh = tuple(w * dy for w in net.W2)
    local = tuple(h * (1 - h) if net.activation == "sigmoid" else 1 - h * h for h in f.h)
    dz1 = tuple(g * d for g, d in zip(dh, local, strict=True))
    name = "σ" if net.activation == "sigmoid" else "tanh"
    return [
        Line("y", "∂L/∂y", "2 (y − t)", (dy,), ()),
        Line("W2", "∂L/∂W2", "∂L/∂y · hᵀ", tuple(dy * h for h in f.h), (1, HIDDEN)),
        Line("b2", "∂L/∂b2", "∂L/∂y", (dy,), (1,)),
        Line("h", "∂L/∂h", "W2ᵀ · ∂L/∂y", dh, (HIDDEN,)),
        Line(
            "z1",
            "∂L/∂z1",
            f"∂L/∂h ⊙ {name}′(z1) = ∂L/∂h ⊙ {derivative_formula(net.activation)}",
            dz1,
            (HIDDEN,),
        ),
        Line(
            "W1",
            "∂L/∂W1",
            "∂L/∂z1 · xᵀ",
            tuple(g * xi for g in dz1 for xi in net.x),
            (HIDDEN, INPUTS),
        ),
        Line("b1", "∂L/∂b1", "∂L/∂z1", dz1, (HIDDEN,)),
    ]


def difference(hand: tuple[float, ...], autograd: tuple[float, ...]) -> float:
    """The largest absolute difference between two flattened values of the same line."""
    return max(abs(a - b) for a, b in zip(hand, autograd, strict=True))


# The notes' first autograd example: y = x**2 + 3x at x = 2; dy/dx = 2x + 3 = 7.
FIRST_X = 2.0


def first_example() -> tuple[float, float]:
    """(y, dy/dx by hand) at FIRST_X."""
    return FIRST_X**2 + 3 * FIRST_X, 2 * FIRST_X + 3
