"""One finiteness check per module output, on the steps that ask for it.

Hooks are put on every module for one forward pass and taken off at the end of the step. Each
check is a reduction left on the device, the output's sum: finite exactly when every entry is
(summed in float64 where the device has it, so finite values cannot overflow it), and one pass
where ``isfinite(x).all()`` makes two and a boolean tensor (8x quicker on a CPU). They are read
(one stack, one transfer) only when the step turned out non-finite, so a finite step pays the
kernels and no synchronisation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from gradtui.probe.probe import first_tensor


class FiniteChecks:
    def __init__(self, model: nn.Module, guard: Callable[[Callable[..., Any]], Callable[..., Any]]):
        self.model = model
        self._guard = guard
        self._checks: list[tuple[str, torch.Tensor]] = []
        self._handles: list[RemovableHandle] = []
        self._hooks: list[tuple[nn.Module, Callable[..., Any]]] | None = None

    def attach(self) -> None:
        """Check every module output of the coming forward pass (idempotent)."""
        self._checks.clear()
        if self._handles:
            return
        if self._hooks is None:  # made once: wrapping costs more than hooking
            self._hooks = [
                (module, self._guard(self._check(name or type(self.model).__name__)))
                for name, module in self.model.named_modules()
                if not isinstance(module, nn.ModuleList | nn.ModuleDict)
            ]
        self._handles = [module.register_forward_hook(hook) for module, hook in self._hooks]

    def _check(self, label: str):
        def hook(_module: nn.Module, _inputs: object, output: object) -> None:
            tensor = first_tensor(output)
            if tensor is not None and tensor.is_floating_point():
                self._checks.append((label, tensor.detach().sum(dtype=_sum_dtype(tensor))))

        return hook

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def first_bad(self) -> str | None:
        """The first module, in the order outputs completed (innermost first), whose output
        was not finite; None when all were finite or nothing was checked."""
        if not self._checks:
            return None
        sums = torch.stack([total for _, total in self._checks]).tolist()
        for (label, _), total in zip(self._checks, sums, strict=True):
            if not math.isfinite(total):
                return label
        return None

    def checked(self) -> bool:
        return bool(self._checks)

    def clear(self) -> None:
        self._checks.clear()


def _sum_dtype(tensor: torch.Tensor) -> torch.dtype:
    """float64 where the device has it (MPS has not): finite entries never sum to inf there."""
    return torch.float32 if tensor.device.type == "mps" else torch.float64
