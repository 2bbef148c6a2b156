"""Make a package callable: ``gradtui.watch(model)`` calls the package's ``watch`` function.

A module object cannot have ``__call__``, but its class can be swapped for a subclass of
``types.ModuleType`` that has one; Python allows that assignment for module objects.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any


def make_callable(module_name: str, function: Callable[..., Any]) -> None:
    """Let the module named ``module_name`` be called as ``function``."""

    class CallableModule(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs)

    sys.modules[module_name].__class__ = CallableModule
