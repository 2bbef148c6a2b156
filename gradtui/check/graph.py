"""Walking a loss's autograd graph: the leaf tensors it reaches, and the known numerical traps.

It reads ``grad_fn`` names only, so it works on any model and any torch version that names its
backward nodes ``LogBackward0``, ``SoftmaxBackward0`` and so on. The patterns are the table in
``gradtui/probe/traps.py``, the one the watch and scenario lint reads too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gradtui.probe.traps import looked_through, pattern_of, short


@dataclass(frozen=True)
class Trap:
    """One numerically fragile pattern found in the graph."""

    pattern: str  # e.g. "log(softmax(x))"
    why: str
    fix: str
    where: str  # the user's forward line, when anomaly mode recorded it, else ""


def walk(root: Any) -> Iterator[Any]:
    """Every node of the graph under ``root`` (a grad_fn), each once."""
    seen: set[int] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(child for child, _ in getattr(node, "next_functions", ()) if child)


def leaves(root: Any) -> list[Any]:
    """The leaf tensors the graph accumulates gradients into (parameters and the like)."""
    return [node.variable for node in walk(root) if hasattr(node, "variable")]


def _inputs_through_passthrough(node: Any) -> Iterator[Any]:
    """The nodes feeding ``node``, looking through view-like nodes."""
    stack = [child for child, _ in node.next_functions if child]
    seen: set[int] = set()
    while stack:
        child = stack.pop()
        if id(child) in seen:
            continue
        seen.add(id(child))
        if looked_through(child):
            stack.extend(c for c, _ in child.next_functions if c)
        else:
            yield child


def traps(root: Any) -> list[Trap]:
    """The known numerical traps in the graph under ``root``, once per pattern and line."""
    found: dict[tuple[str, str], Trap] = {}
    for node in walk(root):
        for child in _inputs_through_passthrough(node):
            known = pattern_of(node, child)
            if known is None:
                continue
            where = _forward_line(node)
            trap = Trap(known.pattern, known.why, known.fix, where)
            found.setdefault((known.pattern, where), trap)
    return list(found.values())


def _forward_line(node: Any) -> str:
    """The last frame of the forward traceback anomaly mode stored, outside torch itself."""
    trace = getattr(node, "metadata", {}).get("traceback_") if hasattr(node, "metadata") else None
    if not trace:
        return ""
    lines = trace if isinstance(trace, list) else [trace]
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', "".join(map(str, lines)))
    own = [f for f in frames if "/torch/" not in f[0] and "/gradtui/check/" not in f[0]]
    if not own:
        return ""
    path, line, func = own[-1]
    try:
        shown = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        shown = path
    return f"{path if shown.startswith('..') else shown}:{line} in {func}"


def culprit_line(root: Any, message: str) -> str:
    """For 'modified by an inplace operation ... output 0 of Sigmoid': where that op ran."""
    match = re.search(r"output \d+ of (\w+?)(Backward\d*)?\b", message)
    if not match:
        return ""
    op = match.group(1)
    for node in walk(root):
        if short(node) == op:
            line = _forward_line(node)
            if line:
                return line
    return ""
