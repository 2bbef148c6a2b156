"""The parameter hooks come off while every step starts with no gradients (zero_grad's
default), and the missing-zero_grad check and the call-order checks see the same as with them."""

from __future__ import annotations

import torch
from torch import nn

import gradtui
from gradtui.events import StepStats


def run(clear: str, skip_zero_grad_at: int | None = None, steps: int = 5):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    events: list = []
    hooked = []
    monitor = gradtui.watch(model, opt, on_event=events.append)
    for step in range(steps):
        if step != skip_zero_grad_at:
            opt.zero_grad(set_to_none=clear == "none")
        x = torch.randn(16, 4)
        loss = nn.functional.mse_loss(model(x), x[:, :1])
        hooked.append(bool(monitor._hooks._grad_handles))
        loss.backward()
        monitor.step(loss)
        opt.step()
    monitor.close()
    carried = [s.carried_grad_norm for s in events if isinstance(s, StepStats)]
    return carried, hooked


def test_cleared_to_none_runs_unhooked_and_a_missed_zero_grad_is_still_seen():
    carried, hooked = run("none", skip_zero_grad_at=3)
    assert len(carried) == 5
    assert carried[3] > 0 and carried[:3] == [0.0, 0.0, 0.0] and carried[4] == 0.0
    assert hooked == [False, False, False, True, False]


def test_cleared_to_zeros_keeps_the_hooks_and_carries_nothing():
    carried, hooked = run("zeros")
    assert carried == [0.0] * 5
    assert hooked == [False, True, True, True, True]
