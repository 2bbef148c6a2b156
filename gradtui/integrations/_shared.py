"""What both framework callbacks share: one monitor driven by a trainer's hooks.

The trainer owns the step, so the callback tells the monitor what a hand-written loop would:
the loss of an optimizer step (summed or averaged over its micro-batches), ``step`` after the
last backward and before the optimizer, the trainer's clipping, and the steps a mixed-precision
grad scaler skips. Findings go to the framework's own logger, on rank 0, once each.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from gradtui.diagnosis import Diagnoser
from gradtui.events import Diagnosis, Event

Hook = TypeVar("Hook", bound=Callable[..., Any])
LOG_LEVEL = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO}
RECORDING_NAME = "gradtui.jsonl"


def require(module: str, what: str, extra: str) -> ModuleType:
    """Import ``module``, or fail with one line that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"{what} is not installed: pip install 'gradtui[{extra}]' (or pip install {extra})"
        ) from None


def scaler_skips(scaler: Any, optimizer: Any) -> bool:
    """Whether an enabled ``torch.amp.GradScaler`` that has unscaled ``optimizer``'s
    gradients found inf/NaN in them, so its ``step`` will skip the optimizer."""
    if scaler is None or not getattr(scaler, "is_enabled", lambda: False)():
        return False
    try:
        found = scaler._found_inf_per_device(optimizer)  # set by unscale_, read by step
    except Exception:
        found = None
    if found:
        return any(bool(flag.item()) for flag in found.values())
    import torch  # not unscaled yet, or a scaler of another make: look at the gradients

    grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
    if not grads:
        return False
    with torch.no_grad():
        return not bool(torch.isfinite(torch.stack(torch._foreach_norm(grads))).all())


def guarded(hook: Hook) -> Hook:
    """A callback hook whose own errors never reach the trainer: the first is logged with its
    traceback, watching stops, and training goes on (the hook's object has ``watching``)."""

    @functools.wraps(hook)
    def run(self: Any, *args: Any, **kwargs: Any) -> None:
        if self.watching.broken:
            return
        try:
            hook(self, *args, **kwargs)
        except Exception:
            self.watching.break_off()

    return run  # type: ignore[return-value]


class WatchingCallback:
    """What both frameworks' callbacks offer beside their hooks: the file and the findings."""

    watching: Watching

    @property
    def path(self) -> Path | None:
        """The file this process records to, once training has started."""
        return self.watching.path

    def diagnoses(self) -> list[Diagnosis]:
        return self.watching.diagnoses()


class Watching:
    """A monitor fed by a trainer's callback hooks. ``start`` once the model and optimizer
    exist; ``add_loss`` for each micro-batch; ``optimizer_step`` after the last backward and
    before the optimizer; ``close`` at the end (``fail`` on an exception)."""

    def __init__(self, logger: logging.Logger, options: dict[str, Any]) -> None:
        self.logger = logger
        self.options = options
        self.monitor: Any = None
        self.diagnoser = Diagnoser()
        self.rank = 0
        self._losses: list[Any] = []
        self._sum_losses = True
        self._warned_no_loss = False
        self.broken = False  # an error of ours: watching stopped, training goes on

    @property
    def path(self) -> Path | None:
        return getattr(self.monitor, "path", None)

    def start(
        self,
        model: Any,
        optimizer: Any,
        record: Path,
        name: str | None,
        total_steps: int,
        rank: int,
    ) -> None:
        """``name`` None: the run is named after the recording's file, as gradtui.watch does."""
        import gradtui

        self.close()  # a run that ended in an exception the trainer never told us about
        self.rank = rank
        self.diagnoser = Diagnoser()  # a second fit/train starts a fresh run
        options = {"total_steps": total_steps, **({"name": name} if name else {}), **self.options}
        self.monitor = gradtui.watch(
            model, optimizer, record=record, diagnose=False, on_event=self._on_event, **options
        )
        if rank == 0 and self.path is not None:  # in a distributed run, the common name
            print(f"gradtui: recording to {record}  (watch it: gradtui attach {record})")

    def add_loss(self, loss: Any, summed: bool) -> None:
        """One micro-batch's loss (detached). ``summed``: the trainer already divided it by
        the number of micro-batches, so the step's loss is their sum, not their mean."""
        self._losses.append(loss.detach() if hasattr(loss, "detach") else float(loss))
        self._sum_losses = summed

    def optimizer_step(self, scaler: Any, optimizer: Any, clip_norm: float | None) -> None:
        """The gradients are final (unscaled); the optimizer steps next."""
        losses, self._losses = self._losses, []
        if self.monitor is None:
            return
        if scaler_skips(scaler, optimizer):
            self.monitor.skip_step()
            return
        if not losses:
            losses = [0.0]
            if not self._warned_no_loss and self.rank == 0:
                self._warned_no_loss = True
                self.logger.warning("gradtui: no loss seen for this step; recorded as 0")
        loss = sum(losses) if self._sum_losses else sum(losses) / len(losses)
        self.monitor.step(loss)
        if clip_norm:
            self.monitor.clipped_by_trainer(float(clip_norm))

    def close(self) -> None:
        if self.monitor is not None and not self.monitor.closed:
            self.monitor.close()
            self._say_skipped()

    def fail(self, exc: BaseException) -> None:
        if self.monitor is not None and not self.monitor.closed:
            self.monitor.__exit__(type(exc), exc, exc.__traceback__)
            self._say_skipped()

    def break_off(self) -> None:
        """After an error in a callback of ours: say so once, let go of the model."""
        self.broken = True
        self.logger.exception(
            "gradtui: the callback stopped watching after an internal error; your training "
            "goes on unchanged. Please report this with the traceback."
        )
        try:
            if self.monitor is not None and not self.monitor.closed:
                self.monitor.close()
        except Exception:
            self.logger.debug("closing the monitor failed too", exc_info=True)

    def diagnoses(self) -> list[Diagnosis]:
        return self.diagnoser.diagnoses()

    def _on_event(self, event: Event) -> None:
        for found in self.diagnoser.observe(event):
            if self.rank == 0:
                self.logger.log(
                    LOG_LEVEL[found.severity],
                    "gradtui: [%s] %s: %s",
                    found.severity,
                    found.kind,
                    found.message,
                )

    def _say_skipped(self) -> None:
        skipped = getattr(self.monitor, "steps_skipped", 0)
        if skipped and self.rank == 0:
            self.logger.info(
                "gradtui: %d step(s) the grad scaler skipped (inf/NaN gradients) were not recorded",
                skipped,
            )
