"""Whether the gradients are still those the probe measured, when the optimizer steps.

Under plain SGD the update is read as lr · |grad| from the norms taken at ``monitor.step``; a
loop that clips, unscales or replaces ``.grad`` in between changes what the optimizer applies.
Each gradient's identity and version counter (an in-place change bumps it) tell."""

from __future__ import annotations

import operator
from collections.abc import Sequence

import torch


class GradientMarks:
    """Which gradient tensor each weight held, and its version counter."""

    def __init__(self, weights: Sequence[torch.Tensor]) -> None:
        self._grads = [w.grad for w in weights]
        self._versions = _versions(self._grads)

    def unchanged(self, weights: Sequence[torch.Tensor]) -> bool:
        grads = [w.grad for w in weights]
        return all(map(operator.is_, grads, self._grads)) and _versions(grads) == self._versions


def _versions(grads: Sequence[torch.Tensor | None]) -> list[int]:
    return [-1 if g is None else g._version for g in grads]


# Marks of nothing: ``unchanged`` says no for any weights, so the gradients are read again.
NO_MARKS = GradientMarks([])


def grad_norms_now(weights: Sequence[torch.Tensor]) -> list[float | None]:
    """Each weight's gradient norm as it is now (one transfer): the rare step whose gradients
    the caller changed after the probe looked."""
    present = [w.grad for w in weights if w.grad is not None]
    if not present:
        return [None] * len(weights)
    with torch.no_grad():
        values = iter(torch.stack(torch._foreach_norm(present)).tolist())
    return [None if w.grad is None else next(values) for w in weights]
