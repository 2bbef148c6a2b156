"""The first torch operation that made a NaN or an inf, watched during a replay only.

A dispatch mode sees every operation below autograd. An operation is the origin when its
output holds a NaN and none of its inputs did, or an inf and none of its inputs did: an inf
passed on (scores / sqrt(d) after a mask) is inherited, and a -inf the code put there on purpose
(``masked_fill(mask, float("-inf"))``: the -inf is an argument) counts as an input's. So a
softmax over a row that is all -inf is named, with "-inf" as what its input held, and so is a
float16 matmul whose finite inputs overflow, or a log that was given a 0.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

try:  # a private module of torch: without it, no operation is named (see test_private_apis)
    from torch.utils._python_dispatch import TorchDispatchMode
except ImportError:  # pragma: no cover - the installed torch has it
    TorchDispatchMode = None  # type: ignore[assignment,misc]


def dtype_name(tensor: torch.Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def values_in(tensor: torch.Tensor) -> str:
    """ "nan", "inf", "nan+inf" or "" (finite) for a floating-point tensor."""
    if not tensor.is_floating_point() or tensor.numel() == 0:
        return ""
    nan = bool(tensor.isnan().any())
    inf = bool(tensor.isinf().any())
    return "+".join(word for word, there in (("nan", nan), ("inf", inf)) if there)


def held(value: object) -> set[str]:
    """What an operation's input held, in words: "nan", "inf", "-inf", "zero"; empty when
    it is finite and non-zero (or not a number)."""
    if isinstance(value, float):
        if math.isnan(value):
            return {"nan"}
        return {"inf" if value > 0 else "-inf"} if math.isinf(value) else set()
    if not isinstance(value, torch.Tensor) or not value.is_floating_point() or not value.numel():
        return set()
    found = set()
    if bool(value.isnan().any()):
        found.add("nan")
    if bool(value.isposinf().any()):
        found.add("inf")
    if bool(value.isneginf().any()):
        found.add("-inf")
    if bool((value == 0).any()):
        found.add("zero")
    return found


@dataclass(frozen=True)
class BadOp:
    name: str  # as the dispatcher names it, without the overload ("addmm", "_softmax")
    dtype: str
    values: str  # what the output held: "nan", "inf", "nan+inf"
    inputs: str  # what its inputs held: "finite", or words joined by "+" ("-inf", "zero")


class OpWatch:
    """Holds the first BadOp of a replay (``first``), once ``watching`` has run."""

    def __init__(self) -> None:
        self.first: BadOp | None = None
        self.failed = False  # an output or input could not be inspected: look no further

    @contextlib.contextmanager
    def watching(self, on: bool = True) -> Iterator[None]:
        if not on or TorchDispatchMode is None:
            yield
            return
        with _Mode(self):
            yield

    def look(self, func: Any, args: tuple, kwargs: dict, out: object) -> None:
        outputs = [o for o in _flat(out) if isinstance(o, torch.Tensor) and o.is_floating_point()]
        bad = [o for o in outputs if o.numel() and not bool(o.isfinite().all())]
        if not bad:
            return
        inputs: set[str] = set()
        for value in [*_flat(args), *_flat(list(kwargs.values()))]:
            inputs |= held(value)
        made = set().union(*(held(o) for o in bad)) - {"zero"}
        new_nan = "nan" in made and "nan" not in inputs
        new_inf = bool(made & {"inf", "-inf"}) and not inputs & {"inf", "-inf", "nan"}
        if new_nan or new_inf:
            name = str(getattr(func, "__name__", func)).split(".")[0]
            words = "+".join(sorted(inputs)) or "finite"
            self.first = BadOp(name, dtype_name(bad[0]), values_in(bad[0]), words)


def _flat(value: object) -> list[object]:
    if isinstance(value, list | tuple):
        return [item for v in value for item in _flat(v)]
    return [value]


if TorchDispatchMode is not None:

    class _Mode(TorchDispatchMode):
        def __init__(self, watch: OpWatch) -> None:
            super().__init__()
            self.watch = watch

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            if self.watch.first is None and not self.watch.failed:
                try:
                    self.watch.look(func, args, kwargs, out)
                except Exception:  # a tensor kind we cannot inspect: name no operation
                    self.watch.failed = True
            return out
