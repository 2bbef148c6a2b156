"""A lint of the loss's autograd graph, run once at the first step by both drivers.

Walks ``loss.grad_fn`` back to the parameters and looks for the loss-side mistakes that
debugging guides list most often, before they cost a run: ``log`` of a ``softmax`` (finite
until a probability rounds to 0, then -inf and NaN), a softmax or log-softmax fed to a loss
that applies its own, a ``sigmoid`` fed to ``binary_cross_entropy``, and trainable
parameters the loss does not reach at all, and trainable tensors it reaches that the model
does not register (held in a plain list or dict, or made in a closure). The graph's nodes
outlive ``backward()`` (only their saved tensors are freed), so the walk can run after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from gradtui.events import GraphIssue
from gradtui.probe.traps import looked_through, pattern_of, short

# A walk bounded in nodes, so a huge graph costs a bounded first step.
MAX_NODES = 200_000


def _name(node: Any) -> str:
    return type(node).__name__


def _is(node: Any, op: str) -> bool:
    """``op`` is a backward node's name without its suffix: "Softmax" for SoftmaxBackward0."""
    return short(node) == op


def _source(node: Any) -> Any:
    """What fed ``node``'s first input, looking through reshapes and copies."""
    seen = 0
    while node is not None and seen < 64:
        inputs = getattr(node, "next_functions", ())
        node = inputs[0][0] if inputs else None
        if node is None or not looked_through(node):
            return node
        seen += 1
    return None


def _check(node: Any, consumer: Any | None) -> GraphIssue | None:
    """The table's pattern that ``node`` makes with what fed its first input."""
    fed = _source(node)
    found = pattern_of(node, fed) if fed is not None else None
    if found is None:
        return None
    ops = found.ops
    if ops[-1] == "log_softmax" and consumer is not None and _is(consumer, "NllLoss"):
        ops = (*ops[:-1], "cross_entropy")  # F.cross_entropy is log_softmax then nll_loss
    return GraphIssue(found.kind, ops)


def _note_leaf(
    node: Any, consumer: Any, reached: set[int], leaves: dict[int, tuple[torch.Tensor, str]]
) -> None:
    """Record the tensor an AccumulateGrad node feeds, and the first node seen using it."""
    variable = getattr(node, "variable", None)
    if isinstance(variable, torch.Tensor):
        reached.add(id(variable))
        if variable.requires_grad and id(variable) not in leaves:
            used_by = _name(consumer) if consumer is not None else "the loss"
            leaves[id(variable)] = (variable, used_by)


# Losses that cannot go below 0 for inputs in their domain, by backward node.
FLOORED = {
    "BinaryCrossEntropy": "binary_cross_entropy",
    "BinaryCrossEntropyWithLogits": "binary_cross_entropy_with_logits",
    "NllLoss": "cross_entropy",
}


def _floored(root: Any) -> GraphIssue | None:
    """The loss's last operation when it is a loss that cannot go below 0 in its domain: the
    rules then watch the loss's value (a negative one means targets outside the domain)."""
    name = re.sub(r"Backward\d*$", "", _name(root))
    return GraphIssue("floored_loss", (FLOORED[name],)) if name in FLOORED else None


def lint_loss_graph(
    loss: torch.Tensor, named_parameters: Iterable[tuple[str, nn.Parameter]]
) -> tuple[GraphIssue, ...]:
    """The issues found in the graph that produced ``loss``, each once."""
    root = getattr(loss, "grad_fn", None)
    if root is None:
        return ()
    issues: list[GraphIssue] = [i for i in (_floored(root),) if i is not None]
    reached: set[int] = set()
    leaves: dict[int, tuple[torch.Tensor, str]] = {}
    seen: set[int] = {id(root)}
    stack: list[tuple[Any, Any]] = [(root, None)]
    while stack and len(seen) < MAX_NODES:
        node, consumer = stack.pop()
        _note_leaf(node, consumer, reached, leaves)
        issue = _check(node, consumer)
        if issue is not None and issue not in issues:
            issues.append(issue)
        for child, _ in getattr(node, "next_functions", ()):
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                stack.append((child, node))
    if len(seen) < MAX_NODES:
        params = list(named_parameters)
        unreached = tuple(name for name, p in params if p.requires_grad and id(p) not in reached)
        if unreached:
            issues.append(GraphIssue("unreached", ("loss",), unreached))
        stray = _unregistered(leaves, {id(p) for _, p in params})
        if stray:
            issues.append(GraphIssue("unregistered", ("loss",), stray))
    return tuple(issues)


def _unregistered(leaves: dict[int, tuple[torch.Tensor, str]], known: set[int]) -> tuple[str, ...]:
    """Trainable leaves the loss reaches that the model does not register, each as
    "(shape) used by Op" (the backward node that consumes it, suffix dropped)."""
    found = []
    for key, (tensor, used_by) in leaves.items():
        if key in known:
            continue
        shape = "x".join(str(d) for d in tensor.shape) or "scalar"
        op = re.sub(r"Backward\d*$", "", used_by)
        found.append(f"tensor {shape} used by {op}")
    return tuple(found)
