"""The Monitor's calls for framework callbacks (gradtui.integrations), in a hand-written loop:
begin_step arms a step without a forward hook, skip_step leaves a step out, and
clipped_by_trainer records clipping done with torch's own function."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import gradtui
from gradtui.events import StepStats


def setup(seed: int = 0) -> tuple[nn.Module, torch.optim.Optimizer, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    return (
        model,
        torch.optim.SGD(model.parameters(), lr=0.1),
        torch.randn(16, 4),
        torch.randn(16, 2),
    )


def steps_of(events: list) -> list[StepStats]:
    return [e for e in events if isinstance(e, StepStats)]


def test_skip_step_leaves_the_step_out_and_the_next_one_is_clean():
    model, opt, x, y = setup()
    events: list = []
    with gradtui.watch(model, opt, on_event=events.append, diagnose=False) as monitor:
        for i in range(4):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y) * (math.inf if i == 1 else 1.0)
            loss.backward()
            if i == 1:  # what a grad scaler does with inf gradients: no optimizer step
                monitor.skip_step()
                continue
            monitor.step(loss)
            opt.step()
    steps = steps_of(events)
    assert monitor.steps_skipped == 1 and [s.step for s in steps] == [0, 1, 2]
    assert all(math.isfinite(s.loss) and s.carried_grad_norm == 0.0 for s in steps)


def test_clipped_by_trainer_records_torchs_clipping_and_changes_nothing():
    losses = {}
    for watched in (False, True):
        model, opt, x, y = setup()
        events: list = []
        monitor = gradtui.watch(model, opt, on_event=events.append) if watched else None
        run = []
        for _ in range(3):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            if monitor is not None:
                monitor.step(loss)
                monitor.clipped_by_trainer(0.01)
            total = nn.utils.clip_grad_norm_(model.parameters(), 0.01)  # the trainer's own
            opt.step()
            run.append((loss.item(), total.item()))
        losses[watched] = run
        if monitor is not None:
            monitor.close()
            steps = steps_of(events)
            for step, (_, total) in zip(steps, run, strict=True):
                assert step.grad_norm_total == pytest.approx(total, rel=1e-5)
                assert step.grad_norm_clipped == pytest.approx(0.01, rel=1e-4)
    assert losses[True] == losses[False]


def test_begin_step_arms_heavy_statistics_when_the_model_is_never_called():
    """A trainer that calls only a submodule: the forward hook on the watched module never
    runs, so begin_step is what arms each step."""
    model, opt, x, y = setup()
    events: list = []
    with gradtui.watch(model, opt, every=2, on_event=events.append, diagnose=False) as monitor:
        for _ in range(4):
            monitor.begin_step()
            opt.zero_grad()
            out = model[2](model[1](model[0](x)))  # the submodules, not model(x)
            loss = nn.functional.mse_loss(out, y)
            loss.backward()
            monitor.step(loss)
            opt.step()
    heavy = [s.step for s in steps_of(events) if s.grad_mean_abs is not None]
    assert heavy == [0, 2]
