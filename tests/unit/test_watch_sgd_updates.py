"""Under plain SGD the monitor reads |ΔW| as lr · |grad| instead of copying the weights: the
update ratios must still be the weights' real change, whatever the loop does to the gradients
between ``monitor.step`` and ``opt.step()``. The weights' norms are read again once the
updates since the last read could have moved them by WEIGHT_NORM_DRIFT: the ratios are the
real change to within that share."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import gradtui
from gradtui.events import StepStats
from gradtui.probe.probe import WEIGHT_NORM_DRIFT

LR = 0.05
STEPS = 4


def mlp() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(5, 12), nn.Tanh(), nn.Linear(12, 12), nn.Tanh(), nn.Linear(12, 1)
    )


def edit_gradients(model: nn.Module, how: str, monitor, step: int) -> bool:
    """Change the gradients as a loop might, after monitor.step; False: skip opt.step()."""
    if how == "torch_clip":
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.05)
    elif how == "monitor_clip":
        monitor.clip_grad_norm_(0.05)
    elif how == "scaled_in_place":
        for p in model.parameters():
            p.grad.mul_(0.5)
    elif how == "replaced":
        for p in model.parameters():
            p.grad = p.grad * 0.25
    return not (how == "step_skipped" and step % 2 == 1)


def real_and_recorded(how: str, optimizer: str = "sgd") -> tuple[list, list]:
    torch.manual_seed(0)
    model = mlp()
    if optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    events: list = []
    monitor = gradtui.watch(model, opt, on_event=events.append, every=4)
    weights = [model[i].weight for i in (0, 2, 4)]
    real = []
    for step in range(STEPS):
        x = torch.randn(16, 5)
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), x.sum(1, keepdim=True))
        loss.backward()
        monitor.step(loss)
        before = [w.detach().clone() for w in weights]
        if edit_gradients(model, how, monitor, step):
            opt.step()
        real.append(
            [((w - b).norm() / b.norm()).item() for w, b in zip(weights, before, strict=True)]
        )
    monitor.close()
    recorded = [list(s.update_ratio) for s in events if isinstance(s, StepStats)]
    return real, recorded


@pytest.mark.parametrize(
    "how", ["plain", "torch_clip", "monitor_clip", "scaled_in_place", "replaced", "step_skipped"]
)
def test_update_ratios_are_the_real_change(how: str):
    real, recorded = real_and_recorded(how)
    assert len(recorded) == STEPS
    for real_row, recorded_row in zip(real, recorded, strict=True):
        assert recorded_row == pytest.approx(real_row, rel=WEIGHT_NORM_DRIFT, abs=1e-12)
    if how == "step_skipped":
        assert recorded[1] == [0.0, 0.0, 0.0] and all(r > 0 for r in recorded[0])


def test_with_momentum_the_weights_are_measured():
    real, recorded = real_and_recorded("torch_clip", optimizer="momentum")
    for real_row, recorded_row in zip(real, recorded, strict=True):
        assert recorded_row == pytest.approx(real_row, rel=WEIGHT_NORM_DRIFT, abs=1e-12)


def test_a_large_weight_under_sgd_is_measured_from_its_sample():
    """Over SAMPLE_ABOVE entries the weight's norm comes from a fixed sample, within a few
    percent; its update (lr times the exact gradient norm) then stays as close."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 300), nn.Tanh(), nn.Linear(300, 300), nn.Linear(300, 1))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    events: list = []
    with gradtui.watch(model, opt, on_event=events.append) as monitor:
        x = torch.randn(32, 8)
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), x[:, :1])
        loss.backward()
        monitor.step(loss)
        weight = model[2].weight.detach().clone()
        opt.step()
        real = ((model[2].weight - weight).norm() / weight.norm()).item()
    step = next(s for s in events if isinstance(s, StepStats))
    assert step.weight_norm[1] == pytest.approx(weight.norm().item(), rel=0.05)
    assert step.update_ratio[1] == pytest.approx(real, rel=0.05)
    assert step.weight_norm[0] == pytest.approx(model[0].weight.norm().item(), rel=1e-3)
