"""Walking a loss's autograd graph: the leaf tensors it reaches, and the known numerical traps.

Self-contained on purpose: it reads ``grad_fn`` names only, so it works on any model and any
torch version that names its backward nodes ``LogBackward0``, ``SoftmaxBackward0`` and so on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Nodes that only move values around: a trap seen through them is still the same trap.
_PASSTHROUGH = re.compile(
    r"^(View|Reshape|UnsafeView|Select|Slice|Index|Gather|Squeeze|Unsqueeze|T|Transpose|"
    r"Permute|Expand|Clone|ToCopy|Alias|Narrow|Flatten|Contiguous|Split|SplitWithSizes|"
    r"Unbind|Cat|Stack|MaskedSelect|Take)(Alias)?Backward\d*$"
)


@dataclass(frozen=True)
class Trap:
    """One numerically fragile pattern found in the graph."""

    pattern: str  # e.g. "log(softmax(x))"
    why: str
    fix: str
    where: str  # the user's forward line, when anomaly mode recorded it, else ""


# (outer node, inner node) -> (pattern, why, fix)
_TRAPS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("Log", "Softmax"): (
        "log(softmax(x))",
        "softmax rounds a small probability to exactly 0 in float32, and log(0) is -inf; its "
        "gradient 1/p is then inf, and the step's gradients turn to nan",
        "use torch.log_softmax(x, dim) (with nll_loss), or F.cross_entropy on the logits",
    ),
    ("NllLoss", "Softmax"): (
        "nll_loss(softmax(x))",
        "nll_loss expects log-probabilities; given probabilities it minimises -p instead of "
        "-log p, whose gradient vanishes as p saturates",
        "use F.cross_entropy on the logits, or nll_loss(log_softmax(x))",
    ),
    ("LogSoftmax", "Softmax"): (
        "cross_entropy(softmax(x))",
        "cross_entropy applies log_softmax itself: a softmax before it squashes the logits into "
        "[0, 1], so the loss cannot go below about 0.55 per example and the gradient is tiny",
        "pass the raw logits to F.cross_entropy (drop the softmax)",
    ),
    ("BinaryCrossEntropy", "Sigmoid"): (
        "binary_cross_entropy(sigmoid(x))",
        "sigmoid rounds to exactly 0 or 1 for |x| above about 17 (float32); the loss then "
        "takes log(0), which torch clamps at -100, so the gradient is 0 there and training "
        "stalls on exactly the examples it gets most wrong",
        "use F.binary_cross_entropy_with_logits (nn.BCEWithLogitsLoss) on the logits",
    ),
    ("Log", "Sigmoid"): (
        "log(sigmoid(x))",
        "sigmoid rounds to exactly 0 for x below about -88 (float32) and log(0) is -inf",
        "use F.logsigmoid(x)",
    ),
}


def _short(node: Any) -> str:
    """'LogSoftmaxBackward0' -> 'LogSoftmax'."""
    return re.sub(r"Backward\d*$", "", type(node).__name__)


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
        if _PASSTHROUGH.match(type(child).__name__):
            stack.extend(c for c, _ in child.next_functions if c)
        else:
            yield child


def traps(root: Any) -> list[Trap]:
    """The known numerical traps in the graph under ``root``, once per pattern and line."""
    found: dict[tuple[str, str], Trap] = {}
    for node in walk(root):
        outer = _short(node)
        for child in _inputs_through_passthrough(node):
            known = _TRAPS.get((outer, _short(child)))
            if known is None:
                continue
            pattern, why, fix = known
            where = _forward_line(node)
            found.setdefault((pattern, where), Trap(pattern, why, fix, where))
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
        if _short(node) == op:
            line = _forward_line(node)
            if line:
                return line
    return ""
