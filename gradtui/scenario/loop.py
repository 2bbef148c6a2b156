"""run(spec, emit, should_stop): train a scenario and stream its statistics as events."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

import torch
from torch import nn

from gradtui.events import (
    Event,
    LayerInfo,
    RunFailed,
    RunFinished,
    RunStarted,
    StepStats,
    failed_run,
)
from gradtui.probe.clipping import clip_with_norm
from gradtui.probe.lint import lint_loss_graph
from gradtui.probe.locate import backward_culprit, forward_line_of_failure
from gradtui.probe.origin import forward_origin, origin_or_none, trace_forward
from gradtui.probe.probe import Probe, Watched
from gradtui.probe.settings import current_lr, started_settings
from gradtui.scenario.models import Block, Net, batches, build_model, make_data
from gradtui.scenario.spec import ScenarioSpec, spec_as_data

Emit = Callable[[Event], None]
# A run whose loss stays non-finite this many steps in a row cannot recover: stop it.
NONFINITE_PATIENCE = 5


def watch_points(net: Net) -> Watched:
    """The links of a scenario network (its blocks, then the head) and the layers in each."""
    blocks: list[tuple[str, nn.Module]] = [(f"blocks.{i}", b) for i, b in enumerate(net.blocks)]
    blocks.append(("head", net.head))
    layers, layer_blocks = [], []
    for index, (block_name, block) in enumerate(blocks):
        for name, module in block.named_modules(prefix=block_name):
            if isinstance(getattr(module, "weight", None), nn.Parameter):
                layers.append((name, module))
                layer_blocks.append(index)
    activations = [(i, b.act) for i, b in enumerate(net.blocks) if isinstance(b, Block)]
    return Watched(layers, blocks, activations, layer_blocks)


def loss_function(spec: ScenarioSpec) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if spec.fault.loss == "log_softmax_manual":
        # The naive form: softmax can round a probability to exactly 0, and log(0) = -inf.
        return lambda logits, y: (
            -torch.log(torch.softmax(logits, dim=1)).gather(1, y[:, None]).mean()
        )
    if spec.data.task == "classification":
        return nn.functional.cross_entropy  # fused log_softmax + nll: finite for any logits
    return lambda out, y: nn.functional.mse_loss(out, y)


def make_optimizer(spec: ScenarioSpec, net: nn.Module) -> torch.optim.Optimizer:
    train = spec.train
    left_out = spec.fault.untrained_at
    params = [
        p
        for name, p in net.named_parameters()
        if left_out is None or not name.startswith(f"blocks.{left_out}.")
    ]
    if train.optimizer == "adam":
        return torch.optim.Adam(params, lr=train.lr)
    return torch.optim.SGD(params, lr=train.lr, momentum=train.momentum)


def started_event(
    spec: ScenarioSpec,
    watched: Watched,
    watched_params: Iterable[torch.Tensor] = (),
    optimizer: torch.optim.Optimizer | None = None,
) -> RunStarted:
    layers = tuple(
        LayerInfo(
            name=name,
            kind=type(module).__name__,
            block=block,
            params=sum(p.numel() for p in module.parameters() if p.requires_grad),
        )
        for (name, module), block in zip(watched.layers, watched.layer_blocks, strict=True)
    )
    return RunStarted(
        scenario=spec.name,
        title=spec.title,
        lesson=spec.lesson,
        spec=spec_as_data(spec),
        layers=layers,
        blocks=tuple(name for name, _ in watched.blocks),
        total_steps=spec.train.steps,
        heavy_every=spec.train.heavy_every,
        activation=spec.model.activation,
        source="scenario",
        batch=spec.train.batch,
        init=spec.model.init,
        optimizer=spec.train.optimizer,
        **started_settings(watched_params, optimizer),
    )


def run(spec: ScenarioSpec, emit: Emit, should_stop: Callable[[], bool] = lambda: False) -> None:
    """Train the scenario; every outcome, a crash inside a step included, ends in an event."""
    net = build_model(spec)
    watched = watch_points(net)
    optimizer = make_optimizer(spec, net)
    emit(started_event(spec, watched, net.parameters(), optimizer))
    probe = Probe(net, watched, spec.train.heavy_every, block_hooks=False, optimizer=optimizer)
    net.tap = probe.tap
    try:
        _train(_Training(spec, net, probe, optimizer, loss_function(spec)), emit, should_stop)
    finally:
        net.tap = None
        probe.remove()


@dataclass
class _Training:
    spec: ScenarioSpec
    net: Net
    probe: Probe
    optimizer: torch.optim.Optimizer
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    went_bad: bool = False  # a step has gone non-finite: its origin is recorded

    def step(self, step: int, x: torch.Tensor, y: torch.Tensor) -> StepStats:
        """One step; raises whatever forward or backward raised."""
        if self.spec.train.zero_grad:
            self.optimizer.zero_grad(set_to_none=True)
            self.probe.arm(step)  # nothing can carry over: no need to look
        else:
            self.probe.before_forward(step)
        loss = self.loss_fn(self.net(x), y)
        self.probe.backward(loss)
        stats = self.probe.after_backward(step, loss)
        if step == 0:
            stats = replace(stats, graph_issues=lint_loss_graph(loss, self.net.named_parameters()))
        if not math.isfinite(stats.loss) or not math.isfinite(stats.grad_norm_total):
            stats = self.nonfinite_facts(stats, x, y, loss)
        stats = _clip(self.spec, self.net, stats).evolve(lr=current_lr(self.optimizer))
        self.optimizer.step()
        self.probe.after_optimizer(stats)
        return stats

    def nonfinite_facts(
        self, stats: StepStats, x: torch.Tensor, y: torch.Tensor, loss: torch.Tensor
    ) -> StepStats:
        """Where the step's first NaN or inf appeared; on the run's first such step, also
        where it came from (the batch, the weights, a module, the loss, the backward)."""
        first = not self.went_bad
        self.went_bad = True
        trace = trace_forward(self.net, lambda: self.loss_fn(self.net(x), y), ops=first)
        found = trace.module or (None if trace.loss_finite else "loss")
        blocks = [name for name, _ in self.probe.watched.blocks]
        source = found or backward_culprit(stats, blocks)
        if not first:
            return replace(stats, nonfinite_source=source)
        inputs = [("input batch", x), ("targets", y)]
        params = list(self.net.named_parameters())
        forward = forward_origin(trace)
        origin = origin_or_none(stats.step, inputs, params, forward, source, trace.ops.first, loss)
        return replace(stats, nonfinite_source=source, nonfinite_origin=origin)

    def failure(self, step: int, x: torch.Tensor, y: torch.Tensor, exc: Exception) -> RunFailed:
        def replay() -> None:
            self.net.zero_grad(set_to_none=True)
            self.loss_fn(self.net(x), y).backward()

        trace = forward_line_of_failure(replay) if isinstance(exc, RuntimeError) else ""
        return failed_run(step, exc, trace)


def _train(training: _Training, emit: Emit, should_stop: Callable[[], bool]) -> None:
    spec, probe = training.spec, training.probe
    stream: Iterator = batches(make_data(spec.data), spec.train.batch, spec.data.seed)
    bad_streak = 0
    for step in range(spec.train.steps):
        if should_stop():
            _emit_pending(probe, emit)
            emit(RunFinished(steps_run=step, stopped=True))
            return
        x, y = next(stream)
        try:
            stats = training.step(step, x, y)
        except Exception as exc:  # an autograd error is a finding, not a crash
            _emit_pending(probe, emit)
            emit(training.failure(step, x, y, exc))
            return
        done = probe.take_completed()
        if done is not None:
            emit(done)
        bad_streak = 0 if math.isfinite(stats.loss) else bad_streak + 1
        if bad_streak >= NONFINITE_PATIENCE:
            _emit_pending(probe, emit)
            emit(RunFinished(steps_run=step + 1, stopped=False, reason="nonfinite"))
            return
    _emit_pending(probe, emit)
    emit(RunFinished(steps_run=spec.train.steps, stopped=False))


def _emit_pending(probe: Probe, emit: Emit) -> None:
    done = probe.flush()
    if done is not None:
        emit(done)


def _clip(spec: ScenarioSpec, net: Net, stats: StepStats) -> StepStats:
    limit = spec.train.clip_grad_norm
    if limit <= 0:
        return stats
    clipped = clip_with_norm(list(net.parameters()), limit, stats.grad_norm_total)
    return replace(stats, grad_norm_clipped=clipped)
