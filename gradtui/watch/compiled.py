"""Models under ``torch.compile``: how to tell, and what the monitor watches on them.

Dynamo traces every hook that runs inside a compiled forward. A hook that reads autograd state
breaks the graph there, a graph break inside a loop (``for block in self.blocks``) makes dynamo
give up on that whole forward and run it eagerly, and hooks that come and go between steps
force recompiles. So on a compiled model the monitor puts nothing inside the compiled code:

- no hook on any block or activation, no finiteness checks while training, no forward-order
  discovery (layers keep ``named_modules()`` order);
- what stays: every per-layer statistic (read from ``.grad`` after backward, no hook needed),
  one link, the gradient at the model's output (caught on the wrapper, outside the compiled
  code), a missing ``zero_grad()`` (parameter hooks run in the autograd engine), and the
  non-finite replay, which runs the model eagerly.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from gradtui.probe.probe import Watched
from gradtui.watch.layout import find_layers

PARALLEL = (nn.parallel.DistributedDataParallel, nn.DataParallel)


def optimized_module_type() -> type | None:
    """torch.compile's wrapper class, or None when nothing was compiled in this process
    (importing torch._dynamo just to ask would cost a second)."""
    eval_frame = sys.modules.get("torch._dynamo.eval_frame")
    return getattr(eval_frame, "OptimizedModule", None)


def runs_compiled(model: nn.Module) -> bool:
    """Whether calling ``model`` runs compiled code: ``torch.compile(model)``,
    ``model.compile()``, either one inside (Distributed)DataParallel, or the reverse."""
    optimized = optimized_module_type()
    while True:
        if getattr(model, "_compiled_call_impl", None) is not None:
            return True
        if optimized is not None and isinstance(model, optimized):
            return True
        if not isinstance(model, PARALLEL):
            return False
        model = model.module


def output_link_watched(called: nn.Module, model: nn.Module) -> Watched:
    """Every layer of ``model``, and one link: the output of ``called``, the object the
    user's loop calls (the compiled wrapper itself, so its hook runs eagerly)."""
    found = find_layers(model)
    return Watched(
        layers=[(name, module) for name, module, _ in found],
        blocks=[(type(model).__name__, called)],
        activations=[],
        layer_blocks=[0] * len(found),
        weights=[weight for _, _, weight in found],
    )


@contextmanager
def running_eagerly() -> Iterator[None]:
    """Compiled code runs as plain Python inside this block (a replay's hooks then see
    every module, and nothing is recompiled for them)."""
    set_stance = getattr(torch.compiler, "set_stance", None)
    if set_stance is None:
        yield
        return
    with set_stance("force_eager"):
        yield
