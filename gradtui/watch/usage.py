"""Misuse a user can cause, said plainly: wrong arguments to ``watch`` (TypeError/ValueError
at once, never an internal error), a loss that is not a scalar, and ``monitor.step`` called
at the wrong moment of the step (after ``optimizer.step()``, before ``backward()``, twice).
A step called at the wrong moment is not measured, so it feeds no rule."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gradtui.recording.limits import MAX_INT

RIGHT_ORDER = (
    "the right order is: optimizer.zero_grad(); loss = ...; loss.backward(); "
    "monitor.step(loss); optimizer.step()"
)
FINITE_MODES = ("sampled", "always", "off")


def check_arguments(
    model: Any,
    optimizer: Any,
    record: Any,
    every: Any,
    finite_checks: Any,
    total_steps: Any,
    on_event: Any,
) -> None:
    """Raise TypeError or ValueError, naming the argument, for what ``watch`` cannot take."""
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"gradtui.watch: model must be a torch.nn.Module, got {type(model).__name__}"
        )
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            "gradtui.watch: optimizer must be a torch.optim.Optimizer or None, got "
            f"{type(optimizer).__name__}"
        )
    if record is not None and not isinstance(record, str | Path):
        raise TypeError(
            f"gradtui.watch: record must be a path or None, got {type(record).__name__}"
        )
    for name, value in (("every", every), ("total_steps", total_steps)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"gradtui.watch: {name} must be an int, got {type(value).__name__}")
    if not 1 <= every <= MAX_INT:
        raise ValueError(f"gradtui.watch: every must be from 1 to {MAX_INT} (2**63 - 1)")
    if not 0 <= total_steps <= MAX_INT:
        raise ValueError(f"gradtui.watch: total_steps must be 0 (unknown) or more, up to {MAX_INT}")
    if finite_checks not in FINITE_MODES:
        raise ValueError(
            f"gradtui.watch: finite_checks must be one of {', '.join(FINITE_MODES)}, "
            f"got {finite_checks!r}"
        )
    if on_event is not None and not callable(on_event):
        raise TypeError("gradtui.watch: on_event must be callable or None")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(
            f"gradtui.watch: {type(model).__name__} has no parameter with requires_grad=True: "
            "there is nothing to train or watch"
        )


def check_loss(loss: Any) -> None:
    """``monitor.step`` takes the scalar loss that backward() was called on."""
    if isinstance(loss, torch.Tensor):
        if loss.numel() != 1:
            raise ValueError(
                "monitor.step(loss) takes the scalar loss you called backward() on; got a "
                f"tensor of shape {tuple(loss.shape)} (reduce it with .mean() or .sum())"
            )
        return
    if isinstance(loss, bool) or not isinstance(loss, int | float):
        raise TypeError(
            f"monitor.step(loss) takes the loss tensor or a float, got {type(loss).__name__}"
        )


class CallOrder:
    """Where the user's step is, from the monitor's hooks, to judge each ``monitor.step``.

    ``forward`` and ``optimizer_stepped`` come from the monitor's hooks; ``gradients`` says
    whether a gradient arrived since the last forward (or the last ``monitor.step``).
    """

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._forward = False
        self._stepped = False
        self._said: set[str] = set()
        self.skipped = 0  # steps not measured because of the call order

    def forward(self) -> None:
        self._forward = True
        self._stepped = False

    def optimizer_stepped(self, gradients: bool) -> None:
        if gradients:
            self._stepped = True

    def misuse(self, gradients: bool, steps: int) -> str | None:
        """Judge this ``monitor.step``: None when it is in its place, else the problem (said
        once per kind). Resets for the next step either way."""
        problem = None
        if self._stepped:
            problem = (
                "monitor.step(loss) was called after optimizer.step(): the gradients were "
                "already applied, so the update and its ratios cannot be measured"
            )
        elif not gradients and not self._forward and steps + self.skipped > 0:
            problem = (
                "monitor.step(loss) was called twice in one step: no forward or backward ran "
                "since the last call"
            )
        elif not gradients:
            problem = (
                "monitor.step(loss) was called before loss.backward(): there are no "
                "gradients of this step to measure yet"
            )
        self._forward = self._stepped = False
        if problem is None:
            return None
        self.skipped += 1
        if problem not in self._said:
            self._said.add(problem)
            self._log.warning(
                "gradtui.watch: %s; %s. Steps called out of order are not measured.",
                problem,
                RIGHT_ORDER,
            )
        return problem
