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

Most loops clear the gradients to None (``zero_grad()``'s default) before the forward pass.
When every ``.grad`` is None as a step's forward begins, nothing can be left over and a
gradient has arrived exactly when one is there: the parameter hooks, one call from autograd
per parameter and step, are then taken off until a forward finds a gradient again (with
``lazy``; a compiled model keeps them, so that its guards never see hooks come and go).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from gradtui.probe.probe import any_gradient, first_tensor

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
        lazy: bool = True,
        param_hooks: bool = True,
    ) -> None:
        """``param_hooks`` False: parameters whose hooks never run (FSDP2's sharded ones).
        A hook on the model's output then runs as backward begins, before any gradient is
        added to ``.grad``: what is there then was left over."""
        self._on_forward = on_forward
        self._param_hooks = param_hooks
        self._on_first_grad = guard(on_first_grad)
        self._params = params
        self._lazy = lazy
        self._waiting_for_grad = True
        # A gradient arrived since the last forward (or since the monitor last looked), as
        # the parameter hooks saw it; without them, see ``gradients``.
        self._arrived = False
        self._looked = False  # without parameter hooks: the monitor has read this step's
        self._none_this_step = False
        self._handles: list[RemovableHandle] = [
            model.register_forward_pre_hook(guard(self._forward), with_kwargs=True)
        ]
        if optimizer is not None:
            after = guard(lambda *_: on_optimizer_step())
            self._handles.append(optimizer.register_step_post_hook(after))
        self._grad_handles: list[RemovableHandle] = []
        self._hook_params()
        if not param_hooks:
            self._handles.append(model.register_forward_hook(guard(self._hook_output)))
        self._backward_begins = guard(self._first_gradient_if_left_over)

    @property
    def gradients(self) -> bool:
        """A gradient arrived since the last forward (or since the monitor last looked): read
        by the monitor to tell a monitor.step called before backward()."""
        if self._grad_handles:
            return self._arrived
        return not self._looked and any_gradient(self._params)

    @gradients.setter
    def gradients(self, value: bool) -> None:
        self._arrived = value
        self._looked = not value

    def _hook_params(self) -> None:
        if self._param_hooks and not self._grad_handles:
            self._grad_handles = [p.register_hook(self._grad) for p in self._params]

    def _unhook_params(self) -> None:
        for handle in self._grad_handles:
            handle.remove()
        self._grad_handles = []

    def _forward(self, _module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if torch.is_grad_enabled():
            self.gradients = False
            self._looked = False
            if self._lazy:
                self._hook_params_if_needed()
            self._on_forward(args, kwargs)

    def _hook_params_if_needed(self) -> None:
        if not any_gradient(self._params):
            self._none_this_step = True
            self._unhook_params()
            return
        if self._none_this_step:  # a backward of this step ran unhooked (accumulation):
            self._waiting_for_grad = False  # the step's first gradient has come and gone
        self._hook_params()

    def _hook_output(self, _module: nn.Module, _args: object, output: object) -> None:
        tensor = first_tensor(output)
        if torch.is_grad_enabled() and tensor is not None and tensor.requires_grad:
            tensor.register_hook(self._backward_begins)

    def _first_gradient_if_left_over(self, _grad: torch.Tensor) -> None:
        if self._waiting_for_grad and any_gradient(self._params):
            self._waiting_for_grad = False
            self._on_first_grad()

    def hook_every_parameter(self) -> None:
        """A step begins without the model's forward pre-hook (a framework's callback): the
        parameter hooks go back on, since nothing has looked at the gradients; without them
        (a sharded model) the step's gradients are read afresh."""
        self.gradients = False
        self._looked = False
        self._hook_params()

    def _grad(self, _grad: torch.Tensor) -> None:
        self._arrived = True
        if self._waiting_for_grad:
            self._waiting_for_grad = False
            self._on_first_grad()

    def expect_new_step(self) -> None:
        """The next gradient to arrive is the first of a new step."""
        self._waiting_for_grad = True
        self._none_this_step = False  # a forward of this step found every .grad None

    def remove(self) -> None:
        self._unhook_params()
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
