"""Backward for a model that taps its own blocks (the scenario trainer): one pass of autograd
returns the parameters' gradients and the gradient at every tapped block output."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from gradtui.probe.private_torch import engine_grad


def gradients_of(loss: torch.Tensor, inputs: tuple[torch.Tensor, ...]) -> tuple:
    """``torch.autograd.grad(loss, inputs, allow_unused=True)``, without its Python layers."""
    return engine_grad(loss, inputs)


def accumulate(params: Sequence[nn.Parameter], grads: Sequence[torch.Tensor | None]) -> None:
    """Put fresh gradients into ``.grad`` the way backward does: adopt a new one, add in place
    to one already there (a loop without zero_grad), never let two parameters share a tensor."""
    shared = len({id(g) for g in grads}) < len(grads)  # None counts once: rare anyway
    seen: set[int] = set()
    with torch.no_grad():
        for param, grad in zip(params, grads, strict=True):
            if grad is None:
                continue
            if shared:
                if id(grad) in seen:
                    grad = grad.clone()
                seen.add(id(grad))
            if param.grad is None:
                param.grad = grad
            else:
                param.grad.add_(grad)
