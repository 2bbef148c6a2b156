"""monitor.clip_grad_norm_: clips as torch does, reuses the measured norm, and records it."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

import gradtui
from gradtui.events import StepStats
from gradtui.watch.monitor import Monitor

MAX_NORM = 0.5


def mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1)
    )


def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(step)
    x = torch.randn(32, 6, generator=g)
    return x, x.sum(dim=1, keepdim=True) * 3


def train(clip_by: str, watched: bool = True, steps: int = 12, spike_at: int | None = None):
    """Seeded SGD, clipped by ``torch``'s function or by the ``monitor``'s. Optionally one
    step's loss is scaled up 1e5 times: a spike in the gradient norm for clipping to catch."""
    torch.manual_seed(0)
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    events: list = []
    monitor = gradtui.watch(model, opt, on_event=events.append) if watched else None
    losses, totals = [], []
    for step in range(steps):
        x, y = batch(step)
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        if step == spike_at:
            loss = loss * 1e5
        loss.backward()
        if monitor is not None:
            monitor.step(loss)
        if clip_by == "monitor":
            total = monitor.clip_grad_norm_(MAX_NORM)
        else:
            total = torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)
        opt.step()
        losses.append(loss.item())
        totals.append(total.item())
    if monitor is not None:
        monitor.close()
    return losses, totals, events, monitor


def test_it_trains_as_torchs_clipping_does_and_records_the_clipped_norm():
    torch_losses, torch_totals, _, _ = train("torch", watched=False)
    losses, totals, events, _ = train("monitor")
    assert losses == pytest.approx(torch_losses, rel=1e-5)
    assert totals == pytest.approx(torch_totals, rel=1e-5)
    steps = [e for e in events if isinstance(e, StepStats)]
    assert len(steps) == 12
    clipped = [s for s in steps if s.grad_norm_total > MAX_NORM]
    assert clipped, "the set-up must make clipping act on some steps"
    for s in steps:
        assert s.grad_norm_clipped == pytest.approx(min(s.grad_norm_total, MAX_NORM), rel=1e-5)


@pytest.mark.parametrize(("clip_by", "severity"), [("monitor", "info"), ("torch", "error")])
def test_a_spike_is_an_error_unless_clipping_is_known_to_have_caught_it(clip_by, severity):
    _, _, _, monitor = train(clip_by, spike_at=8)
    jumps = [d for d in monitor.diagnoses() if d.kind == "exploding_gradients" and d.step == 8]
    assert [d.severity for d in jumps] == [severity]
    assert ("Clipping cut it to" in jumps[0].message) == (clip_by == "monitor")


def test_called_before_step_it_still_clips_and_says_how_to_call_it(caplog):
    torch.manual_seed(0)
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    events: list = []
    with gradtui.watch(model, opt, on_event=events.append) as monitor:
        for step in range(3):
            x, y = batch(step)
            opt.zero_grad()
            (nn.functional.mse_loss(model(x), y) * 100).backward()
            with caplog.at_level(logging.WARNING, logger="gradtui.watch"):
                monitor.clip_grad_norm_(MAX_NORM)
            after = torch.linalg.vector_norm(
                torch.stack([p.grad.norm() for p in model.parameters()])
            )
            assert after.item() <= MAX_NORM * (1 + 1e-5)
            monitor.step(torch.tensor(1.0))
            opt.step()
    warnings = [r for r in caplog.records if "clip_grad_norm_" in r.getMessage()]
    assert len(warnings) == 1  # once, not every step
    assert all(s.grad_norm_clipped is None for s in events if isinstance(s, StepStats))


def test_a_monitor_that_failed_to_start_still_clips(monkeypatch, caplog):
    def broken(self, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(Monitor, "__init__", broken)
    model = mlp()
    with caplog.at_level(logging.ERROR, logger="gradtui.watch"):
        monitor = gradtui.watch(model)
    x, y = batch(0)
    (nn.functional.mse_loss(model(x), y) * 100).backward()
    total = monitor.clip_grad_norm_(MAX_NORM)
    after = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))
    assert total.item() > MAX_NORM and after.item() <= MAX_NORM * (1 + 1e-5)
