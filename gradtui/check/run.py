"""``gradtui.check``: run the quick checks on a copy of the user's model and optimizer."""

from __future__ import annotations

import copy
import sys
from typing import Any

import torch
from torch import nn

from gradtui.check import items
from gradtui.check.load import CheckInputError
from gradtui.check.overfit import overfit, slice_batch
from gradtui.check.result import CheckItem, CheckReport
from gradtui.check.step import probe_step


def check(
    model: nn.Module,
    loss_fn: Any,
    batch: Any,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    steps: int = 300,
    examples: int = 8,
    show: bool = True,
) -> CheckReport:
    """Run the quick checks before a long run; returns the checklist (falsy when one failed).

    batch is ``(inputs, targets)``: the loss is ``loss_fn(model(inputs), targets)`` (inputs may
    be a tuple of positional arguments or a dict of keyword arguments). Everything runs on deep
    copies: your model, its optimizer state, your ``.grad``s and the random number generators
    are left as they were. ``steps`` bounds the tiny-overfit check, on the batch's first
    ``examples`` examples. ``show`` prints the checklist.
    """
    _validate(model, loss_fn, batch, optimizer)
    with torch.random.fork_rng(devices=_cuda_devices(model)):
        report = _run(model, loss_fn, batch, optimizer, steps, examples)
    if show:
        print(report, file=sys.stdout)
    return report


def _run(
    model: nn.Module, loss_fn: Any, batch: Any, optimizer: Any, steps: int, examples: int
) -> CheckReport:
    probed_model, probed_optimizer = _copy(model, optimizer)
    probed_model.train()
    probe = probe_step(probed_model, loss_fn, batch)
    first = items.loss_item(probe)
    checklist = [
        first,
        items.parameters_item(probe, probed_model),
        items.optimizer_item(probed_model, probed_optimizer),
        items.graph_item(probe),
        items.magnitudes_item(probe),
    ]
    losses: list[float] = []
    if probe.error and probe.stage in ("forward", "loss"):
        checklist.append(
            CheckItem("overfit", "the model overfits a few examples", "unknown", items.UNREACHABLE)
        )
    else:
        trained_model, trained_optimizer = _copy(model, optimizer)
        small, count = slice_batch(batch, examples)
        item, losses = overfit(trained_model, loss_fn, small, trained_optimizer, steps)
        details = {**item.details, "examples": count, "losses": losses}
        checklist.append(
            CheckItem(item.id, item.title, item.status, item.summary, item.why, item.fix, details)
        )
    return CheckReport(tuple(checklist), tuple(losses))


def _copy(model: nn.Module, optimizer: Any) -> tuple[nn.Module, Any]:
    """Model and optimizer copied together, so the copy's optimizer holds the copy's params."""
    try:
        return copy.deepcopy((model, optimizer))
    except Exception as exc:
        raise CheckInputError(
            f"cannot copy the model and optimizer ({type(exc).__name__}: {exc}); the checks "
            "run on a copy so that yours stay untouched"
        ) from exc


def _validate(model: Any, loss_fn: Any, batch: Any, optimizer: Any) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn: expected a callable, got {type(loss_fn).__name__}")
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise TypeError("batch: expected (inputs, targets)")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer: expected a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )


def _cuda_devices(model: nn.Module) -> list[int]:
    return sorted({p.device.index or 0 for p in model.parameters() if p.device.type == "cuda"})
