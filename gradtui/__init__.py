"""gradtui: watch backpropagation in the terminal.

``gradtui.watch(model, ...)`` watches your own model while it trains (see gradtui.watch).
Importing gradtui does not import torch: ``watch`` loads on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["watch"]


def __getattr__(name: str) -> Any:
    if name == "watch":
        return importlib.import_module("gradtui.watch")  # a callable package
    raise AttributeError(f"module 'gradtui' has no attribute {name!r}")
