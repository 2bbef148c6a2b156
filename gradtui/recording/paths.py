"""Where a run's recordings live: one file per rank in a distributed run. No torch."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

_RANK_SUFFIX = re.compile(r"^(?P<base>.*)\.rank(?P<rank>\d+)$")


def rank_path(path: Path, rank: int) -> Path:
    """runs/exp1.jsonl -> runs/exp1.rank0.jsonl"""
    return path.with_name(f"{path.stem}.rank{rank}{path.suffix}")


def split_rank(path: Path) -> tuple[Path, int | None]:
    """runs/exp1.rank3.jsonl -> (runs/exp1.jsonl, 3); a plain file -> (itself, None)."""
    match = _RANK_SUFFIX.match(path.stem)
    if not match:
        return path, None
    return path.with_name(match["base"] + path.suffix), int(match["rank"])


def expand(paths: Iterable[Path]) -> list[list[Path]]:
    """Group the given files into runs: the rank files of one run together, rank order; a
    name that does not exist but has rank files (runs/exp1.jsonl for exp1.rank*.jsonl) stands
    for all of them."""
    groups: dict[Path, dict[int, Path]] = {}
    singles: list[list[Path]] = []
    for path in paths:
        base, rank = split_rank(path)
        if rank is not None:
            groups.setdefault(base, {})[rank] = path
            continue
        found = sorted(path.parent.glob(f"{path.stem}.rank*{path.suffix}"))
        ranked = [(split_rank(p)[1], p) for p in found]
        ranked = [(r, p) for r, p in ranked if r is not None]
        if not path.exists() and ranked:
            groups.setdefault(path, {}).update(ranked)
        else:
            singles.append([path])
    return singles + [[group[r] for r in sorted(group)] for group in groups.values()]
