"""``gradtui.check(model, loss_fn, batch, optimizer=opt)``: the quick checks before a long run.

This package is itself callable, and importing it does not import torch (``gradtui check
--help`` stays light); torch loads on the first call. See gradtui/check/run.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gradtui.callable_module import make_callable

if TYPE_CHECKING:
    from gradtui.check.result import CheckReport


def check(*args: Any, **kwargs: Any) -> CheckReport:
    from gradtui.check.run import check as run_check

    return run_check(*args, **kwargs)


check.__doc__ = "See gradtui.check.run.check: " + (__doc__ or "")


make_callable(__name__, check)
