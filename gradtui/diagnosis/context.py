"""What every rule may read: the run's shape (RunInfo) and the facts of the current step (StepView).

The diagnoser computes the shared facts of a step once (the chain, the loss level, which layers
are already explained by a finding) and hands the same view to every rule in turn.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field

from gradtui.diagnosis import thresholds as T
from gradtui.diagnosis.chain import ChainTracker
from gradtui.events import Diagnosis, RunStarted, StepStats

Finding = tuple[str, Diagnosis]  # (key, diagnosis): one key is one diagnosis, updated in place


@dataclass(frozen=True)
class RunInfo:
    layers: tuple[str, ...]
    layer_block: tuple[int, ...]
    trainable: tuple[bool, ...]
    blocks: tuple[str, ...]
    block_layers: tuple[tuple[int, ...], ...]
    activation: str
    batch: int | None  # None for a user's model, whose batch size we are not told
    init: str
    total_steps: int
    source: str = "scenario"

    @classmethod
    def from_event(cls, event: RunStarted) -> RunInfo:
        block_layers: list[list[int]] = [[] for _ in event.blocks]
        for i, layer in enumerate(event.layers):
            if 0 <= layer.block < len(block_layers):
                block_layers[layer.block].append(i)
        return cls(
            layers=tuple(layer.name for layer in event.layers),
            layer_block=tuple(layer.block for layer in event.layers),
            trainable=tuple(layer.params > 0 for layer in event.layers),
            blocks=event.blocks,
            block_layers=tuple(tuple(b) for b in block_layers),
            activation=event.activation,
            batch=event.batch,
            init=event.init,
            total_steps=event.total_steps,
            source=event.source,
        )

    def names(self, indices: list[int] | tuple[int, ...]) -> tuple[str, ...]:
        return tuple(self.layers[i] for i in sorted(indices))


class LossLevel:
    """The loss at the start and lately (medians of a few finite losses), for 'converged'."""

    def __init__(self) -> None:
        self._first: list[float] = []
        self._recent: deque[float] = deque(maxlen=T.LOSS_START_STEPS)
        self.start: float | None = None
        self._recent_median: float | None = None  # taken once a step: several rules ask

    def add(self, loss: float) -> None:
        if not math.isfinite(loss):
            return
        self._recent.append(loss)
        self._recent_median = statistics.median(self._recent)
        if len(self._first) < T.LOSS_START_STEPS:
            self._first.append(loss)
            self.start = statistics.median(self._first)

    @property
    def recent_median(self) -> float | None:
        """The median of the last few finite losses."""
        return self._recent_median

    @property
    def converged(self) -> bool:
        """Down by CONVERGED_DROP from the start; the small-gradient checks stand down then."""
        if self.start is None or self.start <= 0 or len(self._first) < T.LOSS_START_STEPS:
            return False
        assert self._recent_median is not None  # a loss was added
        return self._recent_median <= T.CONVERGED_DROP * self.start


@dataclass
class StepView:
    """One step as the rules see it."""

    stats: StepStats
    run: RunInfo
    chain: ChainTracker
    loss: LossLevel
    # Layers already explained by a finding of this step (vanishing, missing, ...): the later,
    # more generic rules leave them alone so one cause is reported once.
    explained: set[int] = field(default_factory=set)
    # Blocks whose output gradient is below VANISH_DEPTH_GAIN of the loss's, this step.
    faint_blocks: frozenset[int] = frozenset()

    @property
    def step(self) -> int:
        return self.stats.step


def faint_blocks(chain: ChainTracker) -> frozenset[int]:
    return frozenset(
        j
        for j, r in enumerate(chain.from_loss[:-1])
        if r is not None and math.isfinite(r) and r < T.VANISH_DEPTH_GAIN
    )


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
