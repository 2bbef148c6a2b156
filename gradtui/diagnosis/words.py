"""Small helpers that turn numbers and name lists into short readable text."""

from __future__ import annotations

import math
from collections.abc import Sequence

from gradtui.numbers import decades, num, times

__all__ = [
    "decades",
    "geometric_mean",
    "link_span",
    "name_list",
    "num",
    "readable",
    "runs",
    "times",
]


def readable(name: str) -> str:
    """A bare index ('0', what nn.Sequential names its children) reads as 'layer 0'."""
    return f"layer {name}" if name.isdigit() else name


def name_list(names: Sequence[str], limit: int = 4) -> str:
    """'a', 'a and b', 'a, b and c', or 'a to z (12 layers)' for long lists; bare indices
    read 'layer 0' or 'layers 0, 2 and 4'."""
    names = list(names)
    if not names:
        return "no layer"
    if all(name.isdigit() for name in names):
        noun = "layer" if len(names) == 1 else "layers"
        return f"{noun} {_joined(names, limit)}"
    return _joined([readable(name) for name in names], limit)


def _joined(names: list[str], limit: int) -> str:
    if len(names) > limit:
        return f"{names[0]} to {names[-1]} ({len(names)} layers)"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def runs(indices: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive runs of sorted indices: [1,2,3,7,8] -> [(1,3),(7,8)]."""
    out: list[tuple[int, int]] = []
    for i in sorted(indices):
        if out and i == out[-1][1] + 1:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


def link_span(first: int, last: int, names: Sequence[str]) -> str:
    if first == last:
        return f"link {first} ({readable(names[first])})"
    return f"links {first}-{last} ({readable(names[first])} to {readable(names[last])})"


def geometric_mean(values: Sequence[float]) -> float:
    positive = [v for v in values if v > 0]
    if not positive:
        return 0.0
    return math.exp(sum(math.log(v) for v in positive) / len(positive))
