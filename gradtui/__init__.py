"""gradtui: watch backpropagation in the terminal.

``gradtui.watch(model, ...)`` watches your own model while it trains (see gradtui.watch);
``gradtui.check(model, loss_fn, batch, optimizer=opt)`` runs the quick checks before a long run.
Importing gradtui does not import torch: ``watch`` and ``check`` load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["check", "watch"]


def __getattr__(name: str) -> Any:
    if name == "watch":
        return importlib.import_module("gradtui.watch")  # a callable package
    if name == "check":
        return importlib.import_module("gradtui.check")  # a callable package
    raise AttributeError(f"module 'gradtui' has no attribute {name!r}")
