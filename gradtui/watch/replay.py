"""Replaying the user's last forward pass, on the rare step that needs it, leaving no trace.

The monitor keeps a reference to the inputs of the model's last forward call. On a step that
went non-finite (when no finiteness hooks were on), or when backward raised, it calls the model
again on them, with the random number generators, buffers and gradients saved first and put
back after, so dropout masks, BatchNorm statistics and .grad are exactly as they were.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from gradtui.events import NonfiniteOrigin
from gradtui.probe.locate import forward_line_of_failure
from gradtui.probe.origin import forward_origin, trace_forward
from gradtui.probe.probe import first_tensor


@dataclass
class LastInputs:
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    seen: bool = False

    def keep(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.args, self.kwargs, self.seen = args, kwargs, True

    def forget(self) -> None:
        self.args, self.kwargs, self.seen = (), {}, False


@contextlib.contextmanager
def preserved(model: nn.Module) -> Iterator[None]:
    """Random states, buffers and gradients as they were before the block."""
    cpu_rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    grads = [(p, None if p.grad is None else p.grad.detach().clone()) for p in model.parameters()]
    try:
        yield
    finally:
        torch.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)
        for param, saved in grads:
            param.grad = saved


def _output(model: nn.Module, inputs: LastInputs) -> torch.Tensor:
    out = first_tensor(model(*inputs.args, **inputs.kwargs))
    return out if out is not None else torch.zeros(())


def traced_output(
    model: nn.Module, inputs: LastInputs, ops: bool = True
) -> tuple[str | None, NonfiniteOrigin | None]:
    """The first module (innermost first) whose output was non-finite on the last forward,
    the model's own class name when only its output was, or None when all were finite; and
    the forward origin that replay shows (with the operation that made it, when ``ops``)."""
    root = type(model).__name__
    with preserved(model):
        trace = trace_forward(model, lambda: _output(model, inputs), root=root, ops=ops)
    if trace.module is None and not trace.loss_finite:  # cannot happen: the root is hooked
        trace.module = root
    return trace.module, forward_origin(trace) if trace.module else None


def failure_forward_line(model: nn.Module, inputs: LastInputs) -> str:
    """Replay forward and a backward of the model's output under anomaly detection; the
    forward line that made the tensor whose backward failed ("" when the replay finds none,
    e.g. when the failing operation is in the loss, outside the model)."""

    def step() -> None:
        _output(model, inputs).float().sum().backward()

    with preserved(model):
        return forward_line_of_failure(step)
