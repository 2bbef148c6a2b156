"""``gradtui.check(model, loss_fn, batch, optimizer=opt)``: the quick checks before a long run.

This package is itself callable, and importing it does not import torch (``gradtui check
--help`` stays light); torch loads on the first call. See gradtui/check/run.py.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradtui.check.result import CheckReport


def check(*args: Any, **kwargs: Any) -> CheckReport:
    from gradtui.check.run import check as run_check

    return run_check(*args, **kwargs)


check.__doc__ = "See gradtui.check.run.check: " + (__doc__ or "")


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> CheckReport:
        return check(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
