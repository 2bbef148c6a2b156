"""``GradtuiCallback`` for Lightning: ``Trainer(callbacks=[GradtuiCallback()])``.

Lightning's hooks and what each tells the monitor::

    on_train_batch_start      a micro-batch begins (arms the step when Lightning calls
                              training_step without calling the module itself)
    on_before_backward        this micro-batch's loss (Lightning has divided it by
                              accumulate_grad_batches, and a grad scaler has scaled it)
    on_before_optimizer_step  the gradients are final: accumulated, unscaled, not yet clipped;
                              the step is measured, or left out when the scaler skips it, and
                              the trainer's gradient_clip_val is recorded as clipping
    on_train_end / on_exception   the recording is closed (the error recorded)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from gradtui.integrations._shared import (
    RECORDING_NAME,
    Watching,
    WatchingCallback,
    guarded,
    require,
)

try:
    pl = require("lightning.pytorch", "Lightning", "lightning")
except ImportError:
    pl = require("pytorch_lightning", "Lightning", "lightning")

log = logging.getLogger("lightning.pytorch.callbacks.gradtui")


class GradtuiCallback(WatchingCallback, pl.Callback):
    """Watch the LightningModule's gradients with ``gradtui.watch``'s probe and diagnoses.

    record: the JSON Lines file (default ``gradtui.jsonl`` in the trainer's log directory);
        each rank of a distributed run writes its own ``NAME.rankN.jsonl``.
    **options: passed to ``gradtui.watch`` (``every``, ``finite_checks``, ``name``).
    """

    def __init__(self, record: str | Path | None = None, **options: Any) -> None:
        self.record = Path(record) if record is not None else None
        self.watching = Watching(log, options)
        self._forward_seen = False  # a forward of the module itself arms each step
        self._forward_hook: Any = None
        self._batch: tuple[Any, int] | None = None
        self._redirected = False  # the module's last call had training_step's arguments

    @guarded
    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self._forward_seen = self._redirected = False
        optimizers = trainer.optimizers
        record = self.record or Path(trainer.log_dir or trainer.default_root_dir) / RECORDING_NAME
        self._forward_hook = pl_module.register_forward_pre_hook(self._saw_forward)
        self.watching.start(
            pl_module,
            optimizers[0] if len(optimizers) == 1 else None,
            record,
            name=None if self.record else type(pl_module).__name__,
            total_steps=_total_steps(trainer),
            rank=trainer.global_rank,
        )

    @guarded
    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, idx: int) -> None:
        self._batch = (batch, idx)
        if not self._forward_seen and self.watching.monitor is not None:
            self.watching.monitor.begin_step()

    @guarded
    def on_before_backward(self, trainer: Any, pl_module: Any, loss: Any) -> None:
        if not pl_module.training:
            return
        scaler = _scaler(trainer)
        if scaler is not None and scaler.is_enabled():
            loss = loss.detach() / scaler.get_scale()
        self.watching.add_loss(loss, summed=True)

    @guarded
    def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
        monitor = self.watching.monitor
        if self._redirected and getattr(monitor, "finite_mode", None) == "sampled":
            # Under DDP Lightning calls the module with training_step's arguments; a replay of
            # that call cannot run forward. Check every forward instead, so none is needed.
            monitor.finite_mode = "always"
            if self.watching.rank == 0:
                log.info(
                    "gradtui: the module is called with training_step's arguments (DDP): "
                    "finiteness is checked on every step instead of replaying"
                )
        clip = trainer.gradient_clip_val
        by_norm = str(trainer.gradient_clip_algorithm or "norm").lower().endswith("norm")
        self.watching.optimizer_step(_scaler(trainer), optimizer, clip if by_norm else None)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self._stop()
        self._close(None)

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self._stop()
        self._close(exception)

    @guarded
    def _close(self, exception: BaseException | None) -> None:
        if exception is None:
            self.watching.close()
        else:
            self.watching.fail(exception)

    def _saw_forward(self, module: Any, args: tuple[Any, ...]) -> None:
        import torch

        if module.training and torch.is_grad_enabled():
            self._forward_seen = True  # the monitor's own forward hook arms each step
            batch, idx = self._batch or (None, -1)
            self._redirected = len(args) == 2 and (
                args[0] is batch or (type(args[1]) is int and args[1] == idx)
            )

    def _stop(self) -> None:
        if self._forward_hook is not None:
            self._forward_hook.remove()
            self._forward_hook = None


def _scaler(trainer: Any) -> Any:
    return getattr(trainer.precision_plugin, "scaler", None)


def _total_steps(trainer: Any) -> int:
    try:
        steps = trainer.estimated_stepping_batches
    except Exception:
        return 0
    return int(steps) if steps != float("inf") else 0
