"""The monitor: gradtui's probe on a user's own model, inside their own training loop.

The user's step, and what the monitor does at each moment of it::

    opt.zero_grad()
    out = model(x)          forward pre-hook: a step begins (heavy statistics armed, the
                            finiteness checks put on when asked, the inputs kept for a replay)
    loss.backward()         first parameter hook: gradients left over from the last step
    monitor.step(loss)      this step's statistics (one transfer), weights snapshotted (not
                            under plain SGD: there |ΔW| = lr · |grad|)
    monitor.clip_grad_norm_(c)  optional: clipping with the norm just measured, recorded
    opt.step()              optimizer post-hook (or the next forward): the update is measured

The event of step t is handed over at step t+1, once its update ratios are known, or at
close, to the writer thread (worker.py), which runs the diagnosis rules on it, logs what they
find, and writes the recording; the training thread never waits for it.
"""

from __future__ import annotations

import atexit
import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from gradtui.diagnosis import Diagnoser
from gradtui.events import (
    Diagnosis,
    Event,
    RunFailed,
    RunFinished,
    RunStarted,
    StepStats,
    failed_run,
)
from gradtui.probe.clipping import clip_with_norm, norm_after_clipping
from gradtui.probe.lint import lint_loss_graph
from gradtui.probe.locate import backward_culprit
from gradtui.probe.private_torch import fsdp_unsharded
from gradtui.probe.probe import Probe
from gradtui.probe.settings import current_lr, started_settings
from gradtui.probe.shards import ShardingError
from gradtui.recording import Recorder
from gradtui.recording.codec import LAYER_DIGITS
from gradtui.recording.writer import Thinning
from gradtui.stopping import StopSignals
from gradtui.watch.compiled import output_link_watched, running_eagerly, runs_compiled
from gradtui.watch.consumer import Consumer, nonfinite
from gradtui.watch.coverage import Coverage, WithUntrained, untrained_layers
from gradtui.watch.finite import FiniteChecks
from gradtui.watch.guard import Guard
from gradtui.watch.hooks import StepHooks
from gradtui.watch.layout import ForwardOrder, Layout, activation_name, static_watched
from gradtui.watch.notes import gap_note
from gradtui.watch.replay import LastInputs, failure_forward_line, first_nonfinite_output
from gradtui.watch.sidecar import Sidecar, SidecarUnavailable
from gradtui.watch.step_clock import StepClock
from gradtui.watch.usage import CallOrder, check_arguments, check_loss
from gradtui.watch.worker import Worker, capacity_for
from gradtui.watch.world import World

log = logging.getLogger("gradtui.watch")
FiniteMode = Literal["sampled", "always", "off"]
# Findings are logged once each, as they fire: errors and warnings show with Python's default
# logging setup, info only when the user asks for it.
LOG_LEVEL = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO}
# Steps whose non-finite source is found by replaying the forward pass, when no finiteness
# hooks were on. After a non-finite step the hooks stay on until a step is finite again, so a
# replay is needed only where a run first goes bad; the budget bounds a run that flickers.
REPLAY_BUDGET = 3
# A step's event waits for the next step's transfer to carry its update ratios. When steps are
# slower than this, it is completed (one extra transfer) and written right after the update,
# so a reader attached to the recording is never more than this behind.
LIVE_SECONDS = 1.0


class Unsupported(Exception):
    """A model gradtui cannot watch yet: ``watch`` says so in one line and trains on."""


class Monitor:
    """See ``gradtui.watch``. Usable as a context manager; ``close`` is idempotent."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        record: str | Path | None = None,
        every: int = 16,
        name: str | None = None,
        finite_checks: FiniteMode = "sampled",
        total_steps: int = 0,
        diagnose: bool = True,
        on_event: Callable[[Event], None] | None = None,
        keep_every_step: bool = False,
    ) -> None:
        check_arguments(model, optimizer, record, every, finite_checks, total_steps, on_event)
        self.world = World.detect()
        reason = self.world.unsupported(model)
        if reason is not None:
            raise Unsupported(reason)
        self.model = self.world.unwrap(model)
        # Under torch.compile nothing of ours may run inside the compiled code (see compiled.py)
        self.compiled = runs_compiled(model)
        self.optimizer = optimizer
        self._coverage = Coverage.of(self.model, optimizer)
        self._coverage.warn(log)
        self.every = every
        self.finite_mode = finite_checks
        self.total_steps = total_steps
        self.steps = 0  # steps measured so far; the next step's index
        # Whether the last step measured had a finite loss and gradients: a loop may skip its
        # optimizer step when not (on FSDP2, every rank knows the same; see docs/sharding.md).
        self.finite = True
        self.closed = False
        self.path = self.world.record_path(record)
        self.name = name or (self.world.base_name(record) if record else type(self.model).__name__)
        self.diagnoser = Diagnoser() if diagnose else None
        self._on_event = on_event
        self._guard = Guard(self._abandon)
        self._guarded_step = self._guard.wrap(self._step)
        self._thinning = None if keep_every_step else Thinning()
        self._recorder = (
            Recorder(
                self.path,
                layer_digits=LAYER_DIGITS,
                header=self._thinning.header() if self._thinning else None,
            )
            if self.path
            else None
        )
        self._dropped: list[int] = []  # steps left out while the writer fell behind
        # A hook on a module compiled in place (model.compile()) runs inside compiled code:
        # dynamo must call it, not trace it.
        hook = self._guard.wrap if not self.compiled else self._untraced
        in_full = static_watched(self.model)  # a compiled model's too, for its activation's name
        self._watched = output_link_watched(model, self.model) if self.compiled else in_full
        self._activation = activation_name(in_full)
        try:
            self._probe = Probe(
                self.model,
                self._watched,
                every,
                guard=hook,
                optimizer=optimizer,
                gradients_may_change=True,
                sample_chain=not self.compiled,
            )
        except ShardingError as exc:
            raise Unsupported(str(exc)) from None
        if self._probe.sharded and self.finite_mode == "sampled":
            # A replayed forward of a sharded model gathers from every rank: never one alone.
            self.finite_mode = "off"
        self._order: ForwardOrder | None = None if self.compiled else ForwardOrder(self.model)
        self._layout: Layout | None = None
        self._untrained: WithUntrained | None = None  # layers with requires_grad=False
        self._finite = FiniteChecks(self.model, self._guard.wrap)
        self._inputs = LastInputs()
        self._replays_left = REPLAY_BUDGET
        self._went_bad = False  # the last step was non-finite: check the next one's outputs
        self._last_step_at = time.monotonic()
        self._clock = StepClock(enabled=self.world.size > 1)
        self._slow = False  # steps take longer than LIVE_SECONDS: write each at its update
        self._held: StepStats | None = None  # measured, waiting for the optimizer's update
        self._warned_clip_order = False
        self._call_order = CallOrder(log)
        self.steps_skipped = 0  # steps a framework said the optimizer skipped (skip_step)
        self._hooks = StepHooks(
            model if self.compiled else self.model,
            self._probe.params,
            optimizer,
            hook,
            on_forward=self._on_forward,
            on_first_grad=self._on_first_grad,
            on_optimizer_step=self._on_optimizer_step,
            lazy=not self.compiled,
            param_hooks=not self._probe.sharded,
        )
        self._consumer: Consumer | None = None  # on the writer thread, when there is one
        self._worker = self._writer(capacity_for(len(self._watched.layers)))
        atexit.register(self.close)
        self._signals = StopSignals(wait=False).install()  # a stop signal ends it stopped=True

    # -- the user's calls ------------------------------------------------------------------
    def step(self, loss: torch.Tensor | float) -> None:
        """Measure this step: call after backward, before ``optimizer.step()``."""
        check_loss(loss)
        if not self.closed:
            self._guarded_step(loss)
        self._signals.raise_deferred()

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        """``loss.backward(**kwargs)``; when it raises, the error is recorded with the forward
        line that made the failing tensor, the monitor closes, and the error is re-raised."""
        try:
            loss.backward(**kwargs)
        except Exception as exc:
            if not self.closed:
                self._guard.wrap(self._record_failure)(exc, True)
            raise

    def clip_grad_norm_(self, max_norm: float) -> torch.Tensor:
        """``torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)``, recorded: call it
        after ``step(loss)`` and before ``optimizer.step()``. It reuses the norm ``step``
        measured (no second pass over the gradients), and the step's event keeps the norm
        after clipping, so the diagnoses know clipping caught a spike. Returns the total norm
        before clipping, as torch's does."""
        total = None if self.closed else self._guard.wrap(self._clip)(max_norm)
        if total is None:  # no step measured to reuse, or not watching: clip the usual way
            return torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)
        return total

    def close(self) -> None:
        """Write the last step and the end of the run; take every hook away."""
        if self.closed:
            return
        stopped = self._signals.received is not None
        self._guard.wrap(self._finish)(RunFinished(steps_run=self.steps, stopped=stopped))
        self._release()
        self._signals.raise_deferred()

    def diagnoses(self) -> list[Diagnosis]:
        """Every finding so far, once the writer has seen every step handed to it."""
        self.flush()
        if isinstance(self._worker, Sidecar):
            return list(self._worker.diagnoses)
        return self.diagnoser.diagnoses() if self.diagnoser else []

    @property
    def writer(self) -> Literal["process", "thread"]:
        """Where the rules run and the recording is written: a process of their own (the
        default), or a thread of this one (with ``on_event``, or where no process starts)."""
        return "process" if isinstance(self._worker, Sidecar) else "thread"

    def flush(self) -> None:
        """Wait until the writer has handled every event handed to it so far: run the rules
        on it, logged what they found and written it to the recording. (The last step
        measured waits for its update, and is handed over at the next step or close.)"""
        self._worker.drain()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _tb) -> None:
        if isinstance(exc, Exception) and not self.closed:
            self._guard.wrap(self._record_failure)(exc, False)
        elif exc is not None and not self.closed:  # KeyboardInterrupt and the like
            self._guard.wrap(self._finish)(RunFinished(steps_run=self.steps, stopped=True))
        self.close()

    # -- for framework callbacks (gradtui.integrations), whose trainer owns the step ----------
    def begin_step(self) -> None:
        """A (micro-)batch is about to run forward: arm the step as the model's forward
        pre-hook does, for trainers that never call the watched module itself (Lightning
        calls ``training_step``). Nothing is kept for a replay; call it before the forward."""
        if not self.closed:
            self._guard.wrap(self._begin_step)()

    def skip_step(self) -> None:
        """The step just backpropagated never reaches the optimizer (a mixed-precision grad
        scaler found inf/NaN gradients and skips it): call instead of ``step(loss)``. Nothing
        is recorded for it; ``steps_skipped`` counts them."""
        if not self.closed:
            self._guard.wrap(self._skip_step)()

    def clipped_by_trainer(self, max_norm: float) -> None:
        """The trainer clips the gradient norm to ``max_norm`` with
        ``torch.nn.utils.clip_grad_norm_`` between ``step(loss)`` and the optimizer step:
        record it as ``clip_grad_norm_`` would (the gradients are not touched here)."""
        if not self.closed and self._held is not None and self._held.grad_norm_clipped is None:
            clipped = norm_after_clipping(self._held.grad_norm_total, max_norm)
            self._held = replace(self._held, grad_norm_clipped=clipped)

    def _begin_step(self) -> None:
        self._call_order.forward()
        self._clock.forward()
        self._hooks.hook_every_parameter()
        self._arm()

    def _arm(self) -> None:
        """A new step begins: apply the last update, arm the probe, check outputs if due."""
        self._apply_update()
        self._probe.arm(self.steps)
        if not self.compiled and (
            self.finite_mode == "always" or (self.finite_mode == "sampled" and self._went_bad)
        ):
            self._finite.attach()

    def _skip_step(self) -> None:
        self._finite.detach()
        self._finite.clear()
        self._inputs.forget()
        self._probe.set_carried([])
        self._hooks.expect_new_step()
        self.steps_skipped += 1

    def _clip(self, max_norm: float) -> torch.Tensor | None:
        held = self._held
        if held is None or held.grad_norm_clipped is not None:
            if not self._warned_clip_order:
                self._warned_clip_order = True
                log.warning(
                    "monitor.clip_grad_norm_ comes after monitor.step(loss) and before "
                    "optimizer.step(), once a step; gradients clipped elsewhere are not recorded"
                )
            return None
        params = self._probe.params
        clipped = clip_with_norm(params, max_norm, held.grad_norm_total)
        self._held = replace(held, grad_norm_clipped=clipped)
        self._probe.gradients_rescaled()
        device = next((p.grad.device for p in params if p.grad is not None), None)
        return torch.tensor(held.grad_norm_total, device=device)

    # -- hooks -----------------------------------------------------------------------------
    def _untraced(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return torch.compiler.disable(self._guard.wrap(fn))

    def _on_forward(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._call_order.forward()
        self._clock.forward()
        self._arm()
        if self.finite_mode != "off":
            self._inputs.keep(args, kwargs)

    def _on_first_grad(self) -> None:
        self._probe.set_carried(self._probe.carried_norms())

    def _on_optimizer_step(self) -> None:
        self._call_order.optimizer_stepped(self._hooks.gradients)
        self._apply_update(stepped=True)
        self._clock.ended()

    def _apply_update(self, stepped: bool = False) -> None:
        """Measure the update of the step held: ``stepped`` when the optimizer has just
        stepped (its post-hook), False at the next step's start or at the end."""
        if self._held is not None:
            self._probe.after_optimizer(self._held, stepped)
            self._held = None
            if self._slow:
                done = self._probe.flush()
                if done is not None:
                    self._emit(done)
                    self._worker.drain()  # a slow step can wait the moment it takes to write

    # -- one step ------------------------------------------------------------------------------
    def _step(self, loss: torch.Tensor | float) -> None:
        if self._worker.error is not None:  # the writer failed: stop watching, safely
            self._release()
            return
        gradients, self._hooks.gradients = self._hooks.gradients, False
        if self._call_order.misuse(gradients, self.steps):
            self._hooks.expect_new_step()
            return  # not measured: a step at the wrong moment feeds no rule
        self._start()
        self._apply_update()
        loss_tensor = loss if isinstance(loss, torch.Tensor) else torch.tensor(float(loss))
        stats = self._probe.after_backward(self.steps, loss_tensor)
        if self.steps == 0:
            issues = lint_loss_graph(loss_tensor, self._graph_parameters())
            stats = replace(stats, graph_issues=issues)
        self._went_bad = not (math.isfinite(stats.loss) and math.isfinite(stats.grad_norm_total))
        # Under sharding the total is reduced over the ranks: every rank has the same verdict.
        self.finite = math.isfinite(stats.grad_norm_total) and (
            self._probe.sharded or math.isfinite(stats.loss)
        )
        if self._went_bad:
            stats = replace(stats, nonfinite_source=self._nonfinite_source(stats))
        self._finite.detach()
        self._finite.clear()
        self._inputs.forget()
        self._probe.set_carried([])
        self._held = stats.evolve(
            lr=current_lr(self.optimizer), outside_seconds=self._clock.outside()
        )
        self.steps += 1
        now = time.monotonic()
        # A slow step's update is written at once, through a flush that is a collective on
        # a sharded model: ranks would not agree on which steps are slow, so none are.
        slow = now - self._last_step_at > LIVE_SECONDS and not self._probe.sharded
        self._slow, self._last_step_at = slow, now
        self._hooks.expect_new_step()
        self._emit_completed()
        self._clock.ended()

    def _graph_parameters(self) -> list[tuple[str, torch.Tensor]]:
        named = list(self.model.named_parameters())
        if not self._probe.sharded:
            return named
        unsharded = fsdp_unsharded(self.model)
        return [(name, unsharded.get(id(p), p)) for name, p in named]

    def _start(self) -> None:
        if self._layout is not None:
            return
        self._layout = Layout.of(self._watched, self._order)
        self._coverage = self._coverage.at_first_step(self.model, self._probe.params, log)
        self._untrained = WithUntrained.of(
            self._layout.layers,
            [self._watched.layers[i][1] for i in self._layout.layer_perm],
            self._layout.blocks,
            untrained_layers(self.model),
            self._order,
        )
        if self._order is not None:
            self._order.remove()
            self._order = None
        self._emit(
            RunStarted(
                scenario=self.name,
                title=f"{self.name} · {type(self.model).__name__}{self.world.title_suffix()}",
                lesson="",
                spec={},
                layers=self._untrained.layers if self._untrained else self._layout.layers,
                blocks=self._layout.blocks,
                total_steps=self.total_steps,
                heavy_every=self.every,
                activation=self._activation,
                source="watch",
                optimizer=type(self.optimizer).__name__.lower() if self.optimizer else "",
                model=type(self.model).__name__,
                rank=self.world.rank if self.world.size > 1 else None,
                world_size=self.world.size,
                **self._coverage.started_fields(),
                **started_settings(self.model.parameters(), self.optimizer),
            )
        )

    def _nonfinite_source(self, stats: StepStats) -> str:
        """Where the first non-finite value appeared (see StepStats.nonfinite_source). With
        finite_checks="off" only the backward side can be named."""
        assert self._layout is not None
        if self.finite_mode == "off":
            return self._backward_culprit(stats)
        found = None
        if self._finite.checked():
            found = self._finite.first_bad()
        elif self._inputs.seen and self._replays_left > 0:
            self._replays_left -= 1
            with running_eagerly():
                found = first_nonfinite_output(self.model, self._inputs)
        if found is not None:
            return found
        if not math.isfinite(stats.loss) and (self._finite.checked() or self._inputs.seen):
            return "loss"  # every module output was finite: the loss made the first one
        return self._backward_culprit(stats)

    def _backward_culprit(self, stats: StepStats) -> str:
        assert self._layout is not None
        layout = self._layout
        blocks = [info.block for info in layout.layers]
        return backward_culprit(layout.reorder(stats), list(layout.blocks), blocks)

    def _emit_completed(self) -> None:
        done = self._probe.take_completed()
        if done is not None:
            self._emit(done)

    def _emit(self, event: Event) -> None:
        """Hand ``event`` to the writer. A step that does not fit in its queue is left
        out (never a non-finite one), and a note says so once the writer catches up."""
        if isinstance(event, StepStats):
            if self._layout is not None:
                event = self._layout.reorder(event)
                if self._untrained is not None:
                    event = self._untrained.extend(event)
            if not self._worker.put(event, force=nonfinite(event)):
                self._dropped.append(event.step)
                return
            if self._dropped:
                self._worker.put(gap_note(self._dropped), force=True)
                self._dropped = []
            return
        self._worker.put(event, force=True)

    # -- the writer ------------------------------------------------------------------------------
    def _writer(self, capacity: int) -> Worker | Sidecar:
        """A writer process, unless the user's ``on_event`` must run here (or there is
        nothing to write or diagnose); else, or where it cannot start, a writer thread."""
        if self._on_event is None and (self._recorder is not None or self.diagnoser is not None):
            try:
                sidecar = Sidecar(
                    self._recorder,
                    self.diagnoser is not None,
                    self._thinning,
                    self._announce,
                    capacity,
                )
            except SidecarUnavailable as exc:
                log.debug("gradtui.watch writes on a thread: %s", exc)
            else:
                if self._recorder is not None:
                    self._recorder.close()  # the process holds the file (and its lock) now
                self._recorder = self.diagnoser = None
                return sidecar
        self._consumer = Consumer(
            self.diagnoser, self._recorder, self._thinning, self._announce, self._on_event
        )
        return Worker(self._consumer, capacity)

    def _announce(self, fired: list[Diagnosis]) -> None:
        """Log findings as they fire (on the writer thread, or the writer process's reader)."""
        if self.world.rank != 0:
            return
        for found in fired:
            log.log(
                LOG_LEVEL[found.severity],
                "gradtui: [%s] %s: %s",
                found.severity,
                found.kind,
                found.message,
            )

    # -- the end -------------------------------------------------------------------------------
    def _finish(self, last: RunFinished | RunFailed) -> None:
        self._start()
        self._apply_update()
        done = self._probe.flush()
        if done is not None:
            self._emit(done)
        if self._dropped:
            self._worker.put(gap_note(self._dropped), force=True)
            self._dropped = []
        self._emit(last)

    def _record_failure(self, exc: Exception, replay: bool) -> None:
        """The user's step raised: record it as the end of the run, and close."""
        trace = ""
        if replay and isinstance(exc, RuntimeError) and self._inputs.seen:
            with running_eagerly():
                trace = failure_forward_line(self.model, self._inputs)
        self._finish(failed_run(self.steps, exc, trace))
        self._release()

    def _abandon(self) -> None:
        """After an error of ours: tell a reader the recording ends here, then let go."""
        if not self.closed:
            end = RunFinished(steps_run=self.steps, stopped=True)
            # what the writer still holds is written first (unless it failed)
            if isinstance(self._worker, Sidecar):
                self._worker.end_with(end)
            elif self._consumer is not None:
                self._worker.close()
                self._consumer.end(end)
        self._release()

    def _release(self) -> None:
        """Take every hook away and close the recording; safe to call more than once."""
        if self.closed:
            return
        self.closed = True
        for remove in (self._hooks.remove, self._probe.remove, self._finite.detach):
            try:
                remove()
            except Exception:
                log.debug("removing hooks failed", exc_info=True)
        if self._order is not None:
            self._order.remove()
        self._worker.close()
        if self._worker.error is not None:
            log.error(
                "gradtui.watch stopped: its writer failed (%s); your training goes on unchanged",
                self._worker.error,
                exc_info=self._worker.error if self.writer == "thread" else None,
            )
        if self._recorder is not None:
            self._recorder.close()
        self._inputs.forget()
        atexit.unregister(self.close)
        self._signals.uninstall()
