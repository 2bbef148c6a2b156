"""The private torch names the probe uses for speed, each with a public fallback.

tests/unit/test_private_apis.py fails when one of them is gone from the installed torch, so a
torch upgrade that drops one is noticed (the fallback keeps gradtui working, only slower).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

# torch.no_grad() as a context manager costs Python layers on every step; this is the switch.
SET_GRAD_ENABLED: Callable[[bool], object] = getattr(
    torch._C, "_set_grad_enabled", torch.set_grad_enabled
)
_ENGINE = getattr(torch.autograd.Variable, "_execution_engine", None)


def set_grad_enabled(mode: bool) -> None:
    """Turn autograd's recording on or off for this thread (``torch.set_grad_enabled``)."""
    SET_GRAD_ENABLED(mode)


def engine_grad(loss: torch.Tensor, inputs: tuple[torch.Tensor, ...]) -> tuple:
    """``torch.autograd.grad(loss, inputs, allow_unused=True)`` straight from the C++ engine:
    the Python wrapper costs as much as measuring every gradient of a small MLP."""
    global _ENGINE
    if _ENGINE is not None:
        try:
            return _ENGINE.run_backward(
                (loss,), (torch.ones_like(loss),), False, False, inputs, True, False
            )
        except TypeError:  # arguments refused before any work: a torch whose private API moved
            _ENGINE = None
    return torch.autograd.grad(loss, inputs, allow_unused=True)


def engine_available() -> bool:
    """Whether the private engine call is in use (False after the fallback took over)."""
    return _ENGINE is not None


def fsdp_unsharded(model: torch.nn.Module) -> dict[int, torch.Tensor]:
    """FSDP2 runs each forward on unsharded copies of its parameters, so the loss's graph
    reaches those, not the sharded parameters the model lists: by id of the sharded one.
    Empty when this torch keeps them elsewhere (the graph lint then names nothing)."""
    found: dict[int, torch.Tensor] = {}
    for module in model.modules():
        state = getattr(module, "_get_fsdp_state", None)
        group = getattr(state(), "_fsdp_param_group", None) if callable(state) else None
        for param in getattr(group, "fsdp_params", ()):
            unsharded = getattr(param, "_unsharded_param", None)
            sharded = getattr(param, "sharded_param", None)
            if unsharded is not None and sharded is not None:
                found[id(sharded)] = unsharded
    return found
