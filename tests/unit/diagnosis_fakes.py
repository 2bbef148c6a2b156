"""Hand-made event streams for the diagnosis rules: exact numbers, no torch."""

from __future__ import annotations

import math
from dataclasses import replace

from gradtui.diagnosis import Diagnoser
from gradtui.events import Diagnosis, Event, LayerInfo, RunStarted, StepStats


def started(
    depth: int = 4,
    activation: str = "relu",
    batch: int | None = 64,
    total_steps: int = 0,
    frozen: tuple[int, ...] = (),
) -> RunStarted:
    """blocks.0 .. blocks.{depth-1} and a head, one Linear layer each."""
    blocks = (*(f"blocks.{i}" for i in range(depth)), "head")
    layers = tuple(
        LayerInfo(
            name=f"{block}.linear" if block != "head" else "head",
            kind="Linear",
            block=i,
            params=0 if i in frozen else 100,
        )
        for i, block in enumerate(blocks)
    )
    return RunStarted(
        scenario="fake",
        title="fake",
        lesson="",
        spec={},
        layers=layers,
        blocks=blocks,
        total_steps=total_steps,
        heavy_every=10,
        activation=activation,
        batch=batch,
    )


def one_link(depth: int = 5) -> RunStarted:
    """A run whose only measured link is the model's output (a compiled model's layout)."""
    run = started(depth=depth)
    layers = tuple(replace(layer, block=0) for layer in run.layers)
    return replace(run, layers=layers, blocks=("Model",))


def wobble(step: int) -> float:
    """A deterministic stand-in for minibatch noise, in [-1, 1]."""
    return math.sin(step * 12.9898) * 0.5 + math.sin(step * 4.1414) * 0.5


def healthy(run: RunStarted, step: int, **changes) -> StepStats:
    """A step of a run that learns: every link keeps the gradient's size, the loss falls,
    every layer moves by about 1e-3 of its size. ``changes`` replaces any field."""
    n = len(run.layers)
    stats = StepStats(
        step=step,
        loss=math.exp(-step / 60) * (1 + 0.05 * wobble(step)),
        grad_norm_total=math.sqrt(n) * 0.5,
        grad_norm_clipped=None,
        grad_norm=(0.5,) * n,
        nonfinite=(0,) * n,
        weight_norm=(10.0,) * n,
        update_ratio=(1e-3,) * n,
        block_grad_norm=(0.2,) * len(run.blocks),
    )
    return replace(stats, **changes)


def heavy(run: RunStarted, step: int, dead=None, saturated=None, **changes) -> StepStats:
    n = len(run.layers)
    return healthy(
        run,
        step,
        grad_mean_abs=(0.01,) * n,
        grad_max_abs=(0.1,) * n,
        grad_zero_frac=(0.0,) * n,
        dead_frac=dead,
        saturated_frac=saturated,
        **changes,
    )


def chain(run: RunStarted, gain: float, top: float = 0.2) -> tuple[float, ...]:
    """Block output gradients where every link scales the gradient by ``gain``."""
    last = len(run.blocks) - 1
    return tuple(top * gain ** (last - j) for j in range(len(run.blocks)))


def feed(events: list[Event], diagnoser: Diagnoser | None = None) -> tuple[Diagnoser, list]:
    """Observe every event; returns the diagnoser and (index, diagnosis) of each firing."""
    diagnoser = diagnoser or Diagnoser()
    fired: list[tuple[int, Diagnosis]] = []
    for i, event in enumerate(events):
        fired += [(i, d) for d in diagnoser.observe(event)]
    return diagnoser, fired


def kinds(diagnoser: Diagnoser) -> dict[str, Diagnosis]:
    """The diagnoses by kind (the most severe one of a kind wins)."""
    found: dict[str, Diagnosis] = {}
    for d in reversed(diagnoser.diagnoses()):
        found[d.kind] = d
    return found


def serious(diagnoser: Diagnoser) -> list[tuple[str, str]]:
    return [(d.severity, d.kind) for d in diagnoser.diagnoses() if d.severity != "info"]
