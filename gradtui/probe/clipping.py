"""Gradient-norm clipping that reuses a total norm the probe has already measured."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def clip_with_norm(params: Sequence[torch.Tensor], max_norm: float, total: float) -> float:
    """Scale the gradients of ``params`` as ``torch.nn.utils.clip_grad_norm_`` would, given
    the L2 norm over all of them (so no second pass over the gradients). Returns the norm
    after clipping: NaN when ``total`` is not finite, as the gradients then are too."""
    with_grad = [p for p in params if p.grad is not None]
    torch.nn.utils.clip_grads_with_norm_(with_grad, max_norm, torch.tensor(total))
    return norm_after_clipping(total, max_norm)


def norm_after_clipping(total: float, max_norm: float) -> float:
    """The total norm ``torch.nn.utils.clip_grad_norm_(..., max_norm)`` leaves, given the norm
    before: NaN when ``total`` is not finite, as the gradients then are too."""
    if not math.isfinite(total):
        return math.nan
    return total * min(1.0, max_norm / (total + 1e-6))  # torch's own coefficient
