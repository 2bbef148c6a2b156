"""The chain-rule picture of one step, from the gradient norms at each block's output.

Block j's link gain is ||dL/d in_j|| / ||dL/d out_j||: the factor by which block j scales the
gradient as it passes backwards through it. Block j's input is block j-1's output, so the gain
is g[j-1] / g[j]. The first block's input is the data, which has no gradient, so its gain is
unknown. The cumulative product from the loss back to block j's input is g[j-1] / g[last].
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    block: int
    gain: float | None  # None: unknown (first block) or no gradient reached it
    cumulative: float | None  # product of gains from the loss side down to this block's input


def chain_links(block_grad_norm: tuple[float | None, ...]) -> tuple[Link, ...]:
    links = []
    last = block_grad_norm[-1] if block_grad_norm else None
    for j, out_norm in enumerate(block_grad_norm):
        in_norm = block_grad_norm[j - 1] if j > 0 else None
        links.append(Link(j, _ratio(in_norm, out_norm), _ratio(in_norm, last)))
    return tuple(links)


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None:
        return None
    if den == 0:
        return None if num == 0 else math.inf
    return num / den


@dataclass(frozen=True)
class ChainLink:
    """One link of the chain as the dashboard and the report show it."""

    index: int
    block: str
    gain: float | None  # this step
    gain_median: float | None  # median over the recent window of finite gains
    cumulative: float | None  # this step, from the loss down to this block's input
    cumulative_median: float | None


class ChainTracker:
    """Link gains step by step, with bounded windows: O(blocks) work per step.

    ``from_loss[j]`` is ||dL/d out_j|| / ||dL/d out_last||: how much of the gradient that left
    the loss reaches block j's output (1.0 for the head). ``depth_gain`` is ``from_loss[0]``,
    the product of every link gain between the loss and the first block.
    """

    def __init__(self, names: tuple[str, ...], window: int) -> None:
        self.names = names
        n = len(names)
        self._gains: list[deque[float]] = [deque(maxlen=window) for _ in range(n)]
        self._cumulative: list[deque[float]] = [deque(maxlen=window) for _ in range(n)]
        self.gain: list[float | None] = [None] * n
        self.cumulative: list[float | None] = [None] * n
        self.from_loss: list[float | None] = [None] * n
        self.norms: tuple[float | None, ...] | None = None  # the last chain read

    def update(self, block_grad_norm: tuple[float | None, ...] | None) -> None:
        """Take a step's chain in; a step that did not read it (None) leaves the last one."""
        if block_grad_norm is None:
            return
        self.norms = block_grad_norm
        g = block_grad_norm[: len(self.names)]  # a malformed event cannot overrun the windows
        last = g[-1] if g else None
        for j, out_norm in enumerate(g):
            in_norm = g[j - 1] if j > 0 else None
            gain = _ratio(in_norm, out_norm)
            cumulative = _ratio(in_norm, last)
            self.gain[j] = gain
            self.cumulative[j] = cumulative
            self.from_loss[j] = _ratio(out_norm, last)
            if gain is not None and math.isfinite(gain):
                self._gains[j].append(gain)
            if cumulative is not None and math.isfinite(cumulative):
                self._cumulative[j].append(cumulative)

    @property
    def depth_gain(self) -> float | None:
        if len(self.from_loss) < 2:
            return None
        return self.from_loss[0]

    def gain_median(self, j: int) -> float | None:
        return _median(self._gains[j])

    def links(self) -> tuple[ChainLink, ...]:
        return tuple(
            ChainLink(
                index=j,
                block=name,
                gain=self.gain[j],
                gain_median=_median(self._gains[j]),
                cumulative=self.cumulative[j],
                cumulative_median=_median(self._cumulative[j]),
            )
            for j, name in enumerate(self.names)
        )


def _median(values: deque[float]) -> float | None:
    return statistics.median(values) if values else None
