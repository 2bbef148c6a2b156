"""run(spec, emit, should_stop): train a scenario and stream its statistics as events."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import replace

import torch
from torch import nn

from gradtui.engine.locate import first_nonfinite_module, forward_line_of_failure
from gradtui.engine.models import Block, Net, batches, build_model, make_data
from gradtui.engine.probe import Probe, Watched
from gradtui.events import Event, LayerInfo, RunFailed, RunFinished, RunStarted, StepStats
from gradtui.spec import ScenarioSpec, spec_as_data

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
    if train.optimizer == "adam":
        return torch.optim.Adam(net.parameters(), lr=train.lr)
    return torch.optim.SGD(net.parameters(), lr=train.lr, momentum=train.momentum)


def started_event(spec: ScenarioSpec, watched: Watched) -> RunStarted:
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
    )


def run(spec: ScenarioSpec, emit: Emit, should_stop: Callable[[], bool] = lambda: False) -> None:
    """Train the scenario; every outcome, a crash inside a step included, ends in an event."""
    net = build_model(spec)
    watched = watch_points(net)
    emit(started_event(spec, watched))
    probe = Probe(net, watched, spec.train.heavy_every)
    try:
        _train(spec, net, probe, emit, should_stop)
    finally:
        probe.remove()


def _train(spec: ScenarioSpec, net: Net, probe: Probe, emit: Emit, should_stop) -> None:
    data = make_data(spec.data)
    stream: Iterator = batches(data, spec.train.batch, spec.data.seed)
    optimizer = make_optimizer(spec, net)
    loss_fn = loss_function(spec)
    bad_streak = 0
    step = 0
    for step in range(spec.train.steps):
        if should_stop():
            _emit_last(probe, emit)
            emit(RunFinished(steps_run=step, stopped=True))
            return
        x, y = next(stream)
        if spec.train.zero_grad:
            optimizer.zero_grad(set_to_none=True)
        probe.before_forward(step)
        try:
            loss = loss_fn(net(x), y)
            loss.backward()
        except Exception as exc:  # an autograd error is a finding, not a crash
            _emit_last(probe, emit)
            emit(_failure(spec, net, loss_fn, x, y, step, exc))
            return
        stats = probe.after_backward(step, loss)
        _emit_last_completed(probe, emit)
        if not math.isfinite(stats.loss) or not math.isfinite(stats.grad_norm_total):
            source = first_nonfinite_module(net, lambda: loss_fn(net(x), y))
            stats = replace(stats, nonfinite_source=source or "backward")
        stats = _clip(spec, net, stats)
        probe.before_optimizer()
        optimizer.step()
        probe.after_optimizer(stats)
        bad_streak = 0 if math.isfinite(stats.loss) else bad_streak + 1
        if bad_streak >= NONFINITE_PATIENCE:
            _emit_last(probe, emit)
            emit(RunFinished(steps_run=step + 1, stopped=False))
            return
    _emit_last(probe, emit)
    emit(RunFinished(steps_run=spec.train.steps, stopped=False))


def _clip(spec: ScenarioSpec, net: Net, stats: StepStats) -> StepStats:
    limit = spec.train.clip_grad_norm
    if limit <= 0:
        return stats
    total = stats.grad_norm_total
    params = [p for p in net.parameters() if p.grad is not None]
    torch.nn.utils.clip_grads_with_norm_(params, limit, torch.tensor(total), foreach=True)
    coefficient = min(1.0, limit / (total + 1e-6)) if math.isfinite(total) else math.nan
    return replace(stats, grad_norm_clipped=total * coefficient)


def _emit_last_completed(probe: Probe, emit: Emit) -> None:
    done = probe.take_completed()
    if done is not None:
        emit(done)


def _emit_last(probe: Probe, emit: Emit) -> None:
    done = probe.flush()
    if done is not None:
        emit(done)


def _failure(spec, net, loss_fn, x, y, step: int, exc: Exception) -> RunFailed:
    def replay() -> None:
        net.zero_grad(set_to_none=True)
        loss_fn(net(x), y).backward()

    trace = forward_line_of_failure(replay) if isinstance(exc, RuntimeError) else ""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return RunFailed(
        step=step,
        error_type=type(exc).__name__,
        message=first_line,
        forward_trace=trace,
    )
