"""Why a gradient vanishes, from what was measured: a tanh stack whose units are not
saturated is cut by weights too small for their fan-in (Xavier is the fix, not another
activation); saturated blocks and a sigmoid stack keep the activation's story; the twins
initialised for their activation stay quiet."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import gradtui
from gradtui.report.recorded import report_files

STEPS = 60
VANISHING = "vanishing_gradients"


def stack(activation: str, init: str, conv: bool = False, depth: int = 10) -> nn.Module:
    torch.manual_seed(0)
    act = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[activation]
    layers: list[nn.Module] = [nn.Unflatten(1, (1, 4, 4))] if conv else []
    width = 1
    for i in range(depth):
        layer = (
            nn.Conv2d(width if i else 1, 8, 3, padding=1)
            if conv
            else nn.Linear(16 if i == 0 else 48, 48)
        )
        width = 8
        if init == "small":
            nn.init.normal_(layer.weight, std=0.02)
        elif init == "large":
            nn.init.normal_(layer.weight, std=1.0)
        else:
            nn.init.xavier_normal_(layer.weight, gain=nn.init.calculate_gain(activation))
        nn.init.zeros_(layer.bias)
        layers += [layer, act()]
    layers += [nn.Flatten(), nn.Linear(8 * 16, 1)] if conv else [nn.Linear(48, 1)]
    return nn.Sequential(*layers)


def findings(tmp_path: Path, model: nn.Module) -> dict[str, dict]:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(128, 16, generator=g)
    y = x[:, :1] * 2 + x[:, 1:2]
    path = tmp_path / "run.jsonl"
    with gradtui.watch(model, opt, record=path, every=4, diagnose=False) as monitor:
        for _ in range(STEPS):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            monitor.step(loss)
            opt.step()
    return {d["kind"]: d for d in report_files([path]).report["diagnoses"]}


@pytest.mark.parametrize("conv", [False, True], ids=["mlp", "cnn"])
def test_unsaturated_tanh_vanishing_is_the_init_and_xavier_fixes_it(tmp_path, conv):
    found = findings(tmp_path, stack("tanh", "small", conv))[VANISHING]
    assert "the weights are too small for their fan-in" in found["message"]
    assert "xavier_normal_" in found["fix"] and "ReLU" not in found["fix"]
    (evidence,) = found["evidence"]
    assert evidence["value"] <= 0.05 and "activations in their flat tails" in evidence["rules_out"]
    assert VANISHING not in findings(tmp_path, stack("tanh", "xavier", conv))


def test_a_sigmoid_stack_keeps_the_activations_story(tmp_path):
    found = findings(tmp_path, stack("sigmoid", "small"))[VANISHING]
    assert "too small for their fan-in" not in found["message"] and "ReLU" in found["fix"]
    assert found["evidence"] == []


def test_saturated_or_unmeasured_blocks_or_another_activation_decide_nothing():
    from gradtui.diagnosis.context import RunInfo
    from gradtui.diagnosis.vanishing_causes import small_weights
    from gradtui.events import LayerInfo, RunStarted

    layers = tuple(LayerInfo(f"l{i}", "Linear", i, 10) for i in range(3))
    started = RunStarted("r", "r", "", {}, layers, ("b0", "b1", "b2"), 0, 4, activation="tanh")
    run = RunInfo.from_event(started)
    assert small_weights(run, (0.01, 0.02, 0.0), [0, 1]) is not None
    assert small_weights(run, (0.6, 0.02, 0.0), [0, 1]) is None  # the tails cut it
    assert small_weights(run, (None, 0.02, 0.0), [0, 1]) is None  # not measured: no verdict
    assert small_weights(run, None, [0, 1]) is None
    relu = RunInfo.from_event(RunStarted("r", "r", "", {}, layers, ("b0", "b1", "b2"), 0, 4))
    assert small_weights(relu, (0.0, 0.0, 0.0), [0, 1]) is None
