"""``GradtuiCallback`` for the Hugging Face Trainer: ``Trainer(callbacks=[GradtuiCallback()])``.

The Trainer's hooks and what each tells the monitor::

    on_train_begin          watch the model; the Trainer's own clipping is handed to the
                            callback (see below)
    a forward hook          each micro-batch's loss, from the model's output (``.loss``)
    on_pre_optimizer_step   the gradients are final: accumulated and unscaled (the Trainer
                            has just measured their norm); the step is measured, or left out
                            when the grad scaler skips it; then clipped
    on_train_end            the recording is closed, ``max_grad_norm`` put back

Clipping: the Trainer clips before any callback can see the gradients, and a norm measured
after clipping cannot tell a spike that clipping caught. So while training, the callback sets
``args.max_grad_norm`` to 0 and clips in ``on_pre_optimizer_step`` itself, with the very call
the Trainer makes (``torch.nn.utils.clip_grad_norm_`` over ``model.parameters()``), after
measuring: the same gradients reach the optimizer, and the Trainer still logs the norm before
clipping as ``grad_norm``. The same holds under FSDP2 (``fsdp_config={"version": 2}``), whose
DTensor gradients that call clips as accelerate does; DeepSpeed and FSDP1 keep their own.
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

hf = require("transformers", "The Hugging Face transformers library", "transformers")

log = logging.getLogger("transformers.gradtui")  # under the library's logger and its verbosity


class GradtuiCallback(WatchingCallback, hf.TrainerCallback):
    """Watch the Trainer's model with ``gradtui.watch``'s probe and diagnoses.

    record: the JSON Lines file (default ``gradtui.jsonl`` in ``args.output_dir``); each rank
        of a distributed run writes its own ``NAME.rankN.jsonl``.
    **options: passed to ``gradtui.watch`` (``every``, ``finite_checks``, ``name``).
    """

    def __init__(self, record: str | Path | None = None, **options: Any) -> None:
        self.record = Path(record) if record is not None else None
        self.watching = Watching(log, options)
        self._clip_norm = 0.0
        self._args: Any = None
        self._loss_hook: Any = None

    @guarded
    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.close()  # the last train() raised: the Trainer has no hook for that
        model, optimizer = kwargs["model"], kwargs.get("optimizer")
        self._loss_hook = model.register_forward_hook(self._take_loss, with_kwargs=True)
        self.watching.start(
            model,
            _inner(optimizer),
            self.record or Path(args.output_dir) / RECORDING_NAME,
            name=None if self.record else type(model).__name__,
            total_steps=int(state.max_steps or 0),
            rank=args.process_index,
        )
        if self.watching.monitor.closed or _clips_its_own_way(args, model):
            return  # not watching, or DeepSpeed/FSDP1 clip their own way: leave it to them
        self._args, self._clip_norm = args, float(args.max_grad_norm or 0.0)
        args.max_grad_norm = 0.0  # last: from here on the callback must clip, whatever happens

    def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        import torch

        self._measure(kwargs.get("optimizer"))
        if self._args is not None and self._clip_norm > 0:  # even after an error of ours
            torch.nn.utils.clip_grad_norm_(kwargs["model"].parameters(), self._clip_norm)
            self._record_clipping()

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the recording and give the Trainer its clipping back. ``on_train_end`` does
        it; after ``train()`` raised, call it yourself (or the next ``train()`` will, or the
        interpreter's exit)."""
        if self._args is not None:
            self._args.max_grad_norm = self._clip_norm
            self._args = None
        if self._loss_hook is not None:
            self._loss_hook.remove()
            self._loss_hook = None
        self._close_recording()

    @guarded
    def _measure(self, optimizer: Any) -> None:
        self.watching.optimizer_step(getattr(optimizer, "scaler", None), _inner(optimizer), None)

    @guarded
    def _record_clipping(self) -> None:
        if self.watching.monitor is not None:
            self.watching.monitor.clipped_by_trainer(self._clip_norm)

    @guarded
    def _close_recording(self) -> None:
        self.watching.close()

    @guarded
    def _take_loss(self, module: Any, _args: Any, kwargs: dict[str, Any], output: Any) -> None:
        import torch

        if not (module.training and torch.is_grad_enabled()):
            return
        loss = output.get("loss") if isinstance(output, dict) else getattr(output, "loss", None)
        if isinstance(loss, torch.Tensor):
            # A model given num_items_in_batch divides by the tokens of every micro-batch of
            # the step: the step's loss is the sum. Otherwise the Trainer divides each by their
            # number before backward: the step's loss is their mean.
            self.watching.add_loss(loss, summed=kwargs.get("num_items_in_batch") is not None)


def _clips_its_own_way(args: Any, model: Any) -> bool:
    """Whether DeepSpeed or FSDP1 trains the model: they clip through their own engines. Under
    FSDP2 (accelerate's ``fsdp_version`` 2) the parameters are DTensors, and the Trainer's own
    call, ``torch.nn.utils.clip_grad_norm_`` over them, is what the callback makes."""
    if getattr(args, "deepspeed", None):
        return True
    if not getattr(args, "fsdp", None):
        return False
    return not any(hasattr(p, "device_mesh") for p in model.parameters())


def _inner(optimizer: Any) -> Any:
    """The torch optimizer inside accelerate's AcceleratedOptimizer."""
    while optimizer is not None and hasattr(optimizer, "optimizer"):
        optimizer = optimizer.optimizer
    return optimizer
