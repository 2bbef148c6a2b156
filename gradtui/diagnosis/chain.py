"""The chain-rule picture of one step, from the gradient norms at each block's output.

Block j's link gain is ||dL/d in_j|| / ||dL/d out_j||: the factor by which block j scales the
gradient as it passes backwards through it. Block j's input is block j-1's output, so the gain
is g[j-1] / g[j]. The first block's input is the data, which has no gradient, so its gain is
unknown. The cumulative product from the loss back to block j's input is g[j-1] / g[last].
"""

from __future__ import annotations

import math
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
