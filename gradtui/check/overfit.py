"""The notes' tiny-overfit check: a working model and loss drive 4-8 examples' loss to ~zero."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from gradtui.check.result import CheckItem
from gradtui.check.step import call_model

# "Toward zero": the loss ends under 5% of where it started. Far enough that a stuck model,
# a learning rate of 0 or a frozen one cannot pass by noise, near enough that a model with
# dropout on (its loss never quite reaches 0) still does within a few hundred steps.
TARGET_RATIO = 0.05
EARLY_STOP_RATIO = 1e-3  # stop once the loss is a thousandth of its start
TITLE = "the model overfits a few examples (the loss goes toward zero)"


def slice_batch(batch: Any, count: int) -> tuple[Any, int]:
    """The first ``count`` examples of every tensor in the batch that has the batch's length."""
    inputs, _targets = batch
    first = _first_tensor(inputs)
    size = int(first.shape[0]) if first is not None and first.dim() > 0 else 1
    keep = min(count, size)
    return _slice(batch, size, keep), keep


def overfit(
    model: nn.Module, loss_fn: Any, batch: Any, optimizer: Any, steps: int
) -> tuple[CheckItem, list[float]]:
    trainable = [p for p in model.parameters() if p.requires_grad]
    fail = _fail
    if not trainable:
        return fail(
            "nothing to train: every parameter has requires_grad=False",
            "a frozen model cannot lower its loss",
            "unfreeze the layers you mean to train (requires_grad_(True))",
        ), []
    if optimizer is None:
        optimizer = torch.optim.Adam(trainable, lr=1e-3)
    model.train()
    losses: list[float] = []
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(call_model(model, batch[0]), batch[1])
        if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
            return fail(
                "the loss is not a tensor that requires grad",
                "nothing to descend",
                "see the first line",
            ), losses
        value = float(loss.detach().reshape(()))
        losses.append(value)
        if not math.isfinite(value):
            return fail(
                f"the loss became {value} at step {len(losses)}",
                "the updates overshoot: a learning rate too high for this model, or a "
                "numerical trap in the loss",
                "lower the learning rate, clip the gradient norm, or fix the trap above",
            ), losses
        if value <= EARLY_STOP_RATIO * losses[0]:
            break
        try:
            grads = torch.autograd.grad(loss.reshape(()), trainable, allow_unused=True)
        except RuntimeError as exc:
            message = str(exc).splitlines()[0].split(" Hint:")[0]
            return fail(
                f"backward raised at step {len(losses)}: {message}",
                "no gradient, no descent",
                "see the first line",
            ), losses
        for param, grad in zip(trainable, grads, strict=True):
            param.grad = grad
        optimizer.step()
    first, last = losses[0], min(losses[-5:])
    if first <= 1e-12:
        return CheckItem(
            "overfit", TITLE, "unknown", f"the loss starts at {first:.3g}: already zero"
        ), losses
    summary = f"loss {first:.4g} -> {last:.4g} in {len(losses)} steps ({last / first:.1%})"
    if last <= TARGET_RATIO * first:
        return CheckItem("overfit", TITLE, "pass", summary), losses
    return fail(
        summary + f"; it should fall under {TARGET_RATIO:.0%} of its start",
        "a model that cannot memorise a handful of examples has a bug that is not about "
        "data: a learning rate of 0 or far too low, frozen or untrained layers, a loss "
        "that does not match the output, a cut in the graph",
        "look at the lines above; then try a larger learning rate on this tiny batch",
    ), losses


def _fail(summary: str, why: str, fix: str) -> CheckItem:
    return CheckItem("overfit", TITLE, "fail", summary, why, fix)


def _first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    items = value.values() if isinstance(value, dict) else value
    if isinstance(items, (list, tuple)) or isinstance(value, dict):
        for item in items:
            found = _first_tensor(item)
            if found is not None:
                return found
    return None


def _slice(value: Any, size: int, keep: int) -> Any:
    if isinstance(value, torch.Tensor):
        return value[:keep] if value.dim() > 0 and value.shape[0] == size else value
    if isinstance(value, dict):
        return {k: _slice(v, size, keep) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_slice(v, size, keep) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return value
