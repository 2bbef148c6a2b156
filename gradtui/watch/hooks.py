"""The hooks that give a monitor the moments of a user's step it cannot see from ``step``.

- A forward pre-hook on the model: a new step begins (its first forward with grad enabled).
- A hook on every trainable parameter, which autograd runs before it adds the new gradient
  into ``.grad``. The first one to run in a step sees ``.grad`` exactly as the user's code left
  it: anything already there was not cleared (a missing ``zero_grad()``). Its norms are taken
  then, in one vectorised call, and read with the step's single transfer.
- A step post-hook on the optimizer, when there is one: the weights have just been updated.

Every callback goes through the guard, and ``remove`` takes every handle away. The parameter
hook runs once per parameter and step, so it is a bare flag test; only the first call of a
step goes on, through the guard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

Guard = Callable[[Callable[..., Any]], Callable[..., Any]]


class StepHooks:
    def __init__(
        self,
        model: nn.Module,
        params: list[nn.Parameter],
        optimizer: torch.optim.Optimizer | None,
        guard: Guard,
        on_forward: Callable[[tuple[Any, ...], dict[str, Any]], None],
        on_first_grad: Callable[[], None],
        on_optimizer_step: Callable[[], None],
    ) -> None:
        self._on_forward = on_forward
        self._on_first_grad = guard(on_first_grad)
        self._waiting_for_grad = True
        # A gradient arrived since the last forward (or since the monitor last looked): read
        # by the monitor to tell a monitor.step called before backward().
        self.gradients = False
        self._handles: list[RemovableHandle] = [
            model.register_forward_pre_hook(guard(self._forward), with_kwargs=True)
        ]
        self._handles += [p.register_hook(self._grad) for p in params]
        if optimizer is not None:
            after = guard(lambda *_: on_optimizer_step())
            self._handles.append(optimizer.register_step_post_hook(after))

    def _forward(self, _module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if torch.is_grad_enabled():
            self.gradients = False
            self._on_forward(args, kwargs)

    def _grad(self, _grad: torch.Tensor) -> None:
        self.gradients = True
        if self._waiting_for_grad:
            self._waiting_for_grad = False
            self._on_first_grad()

    def expect_new_step(self) -> None:
        """The next gradient to arrive is the first of a new step."""
        self._waiting_for_grad = True

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
