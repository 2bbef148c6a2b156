"""A lint of the loss's autograd graph, run once at the first step by both drivers.

Walks ``loss.grad_fn`` back to the parameters and looks for the loss-side mistakes that
debugging guides list most often, before they cost a run: ``log`` of a ``softmax`` (finite
until a probability rounds to 0, then -inf and NaN), a softmax or log-softmax fed to a loss
that applies its own, a ``sigmoid`` fed to ``binary_cross_entropy``, and trainable
parameters the loss does not reach at all. The graph's nodes outlive ``backward()`` (only
their saved tensors are freed), so the walk can run after it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from gradtui.events import GraphIssue

# Nodes that reshape or copy a tensor without changing its values: looked through when
# asking what fed an operation.
TRANSPARENT = (
    "View",
    "UnsafeView",
    "Reshape",
    "Unsqueeze",
    "Squeeze",
    "Permute",
    "Transpose",
    "TBackward",
    "Expand",
    "Clone",
    "ToCopy",
    "Select",
    "Slice",
    "AsStrided",
    "Alias",
)
# A walk bounded in nodes, so a huge graph costs a bounded first step.
MAX_NODES = 200_000


def _name(node: Any) -> str:
    return type(node).__name__


def _is(node: Any, op: str) -> bool:
    """``op`` is a backward node's name without its suffix: "Softmax" for SoftmaxBackward0."""
    name = _name(node)
    return name.startswith(op + "Backward")


def _source(node: Any) -> Any:
    """What fed ``node``'s first input, looking through reshapes and copies."""
    seen = 0
    while node is not None and seen < 64:
        inputs = getattr(node, "next_functions", ())
        node = inputs[0][0] if inputs else None
        if node is None or not _name(node).startswith(TRANSPARENT):
            return node
        seen += 1
    return None


def _check(node: Any, consumer: Any | None) -> GraphIssue | None:
    if _is(node, "Log"):
        fed = _source(node)
        if fed is not None and _is(fed, "Softmax"):
            return GraphIssue("log_of_softmax", ("softmax", "log"))
    elif _is(node, "LogSoftmax"):
        fed = _source(node)
        if fed is not None and (_is(fed, "Softmax") or _is(fed, "LogSoftmax")):
            loss = (
                "cross_entropy"
                if consumer is not None and _is(consumer, "NllLoss")
                else ("log_softmax")
            )
            first = "softmax" if _is(fed, "Softmax") else "log_softmax"
            return GraphIssue("softmax_into_loss", (first, loss))
    elif _is(node, "NllLoss"):
        fed = _source(node)
        if fed is not None and _is(fed, "Softmax"):
            return GraphIssue("softmax_into_loss", ("softmax", "nll_loss"))
    elif _is(node, "BinaryCrossEntropy"):
        fed = _source(node)
        if fed is not None and _is(fed, "Sigmoid"):
            return GraphIssue("sigmoid_into_bce", ("sigmoid", "binary_cross_entropy"))
    return None


def lint_loss_graph(
    loss: torch.Tensor, named_parameters: Iterable[tuple[str, nn.Parameter]]
) -> tuple[GraphIssue, ...]:
    """The issues found in the graph that produced ``loss``, each once."""
    root = getattr(loss, "grad_fn", None)
    if root is None:
        return ()
    issues: list[GraphIssue] = []
    reached: set[int] = set()
    seen: set[int] = {id(root)}
    stack: list[tuple[Any, Any]] = [(root, None)]
    while stack and len(seen) < MAX_NODES:
        node, consumer = stack.pop()
        variable = getattr(node, "variable", None)
        if isinstance(variable, torch.Tensor):
            reached.add(id(variable))
        issue = _check(node, consumer)
        if issue is not None and issue not in issues:
            issues.append(issue)
        for child, _ in getattr(node, "next_functions", ()):
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                stack.append((child, node))
    if len(seen) < MAX_NODES:
        unreached = tuple(
            name for name, p in named_parameters if p.requires_grad and id(p) not in reached
        )
        if unreached:
            issues.append(GraphIssue("unreached", ("loss",), unreached))
    return tuple(issues)
