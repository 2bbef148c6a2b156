"""What a rule may need to know about the parameters' dtype and the optimizer's settings.

Read once at the start of a run (dtype, eps, weight decay) or once a step (the learning rate,
which a schedule changes), from ``param_groups[0]``: a plain float read, no device work.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch


def param_dtype(params: Iterable[torch.Tensor]) -> str:
    """The trainable parameters' dtype ("float32", ...), "mixed" if several, "" if none."""
    found = {str(p.dtype).removeprefix("torch.") for p in params if p.requires_grad}
    if len(found) > 1:
        return "mixed"
    return found.pop() if found else ""


def optimizer_setting(optimizer: torch.optim.Optimizer | None, key: str) -> float | None:
    """``param_groups[0][key]`` as a float; None without an optimizer, without that setting
    (SGD has no eps), or when it is not a finite number >= 0."""
    if optimizer is None or not optimizer.param_groups:
        return None
    return _as_setting(optimizer.param_groups[0].get(key))


def _as_setting(value: Any) -> float | None:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            return None
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) and value >= 0.0 else None


def current_lr(optimizer: torch.optim.Optimizer | None) -> float | None:
    """The optimizer's learning rate now (param_groups[0]); None without one."""
    return optimizer_setting(optimizer, "lr")


def started_settings(
    params: Iterable[torch.Tensor], optimizer: torch.optim.Optimizer | None
) -> dict[str, Any]:
    """RunStarted's param_dtype, weight_decay and eps."""
    return {
        "param_dtype": param_dtype(params),
        "weight_decay": optimizer_setting(optimizer, "weight_decay"),
        "eps": optimizer_setting(optimizer, "eps"),
    }
