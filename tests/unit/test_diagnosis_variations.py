"""The rules on runs nobody shipped: other depths, widths, seeds, learning rates, real torch.

Each case trains a small network with the engine for a few dozen steps and diagnoses the
events as the dashboard would, one at a time.
"""

from __future__ import annotations

import pytest

from gradtui.diagnosis import Diagnoser
from gradtui.events import Diagnosis
from gradtui.scenario.loop import run
from gradtui.scenario.spec import DataSpec, FaultSpec, ModelSpec, ScenarioSpec, TrainSpec


def spec(name, model=None, data=None, train=None, fault=None) -> ScenarioSpec:
    return ScenarioSpec(
        name=name,
        title=name,
        lesson="a variation",
        model=ModelSpec(**(model or {})),
        data=DataSpec(**(data or {})),
        train=TrainSpec(**(train or {})),
        fault=FaultSpec(**(fault or {})),
    )


def diagnose(s: ScenarioSpec) -> list[Diagnosis]:
    diagnoser = Diagnoser()
    run(s, diagnoser.observe)
    return diagnoser.diagnoses()


def serious(found: list[Diagnosis]) -> list[tuple[str, str, int]]:
    return [(d.severity, d.kind, d.step) for d in found if d.severity != "info"]


def first(found: list[Diagnosis], kind: str) -> Diagnosis:
    matches = [d for d in found if d.kind == kind]
    assert matches, f"no {kind} in {[(d.severity, d.kind) for d in found]}"
    return min(matches, key=lambda d: d.step)


RELU = {"activation": "relu", "init": "kaiming"}

HEALTHY = [
    spec("relu_narrow", {**RELU, "depth": 8, "width": 48}, {"seed": 3}, {"steps": 120, "lr": 0.01}),
    spec(
        "relu_wide", {**RELU, "depth": 12, "width": 128}, {"seed": 4}, {"steps": 120, "lr": 0.004}
    ),
    spec(
        "bn_sigmoid",
        {"depth": 12, "activation": "sigmoid", "norm": "batch"},
        {"seed": 5},
        {"steps": 120, "lr": 0.1},
    ),
    spec(
        "residual_ln",
        {"depth": 12, "activation": "sigmoid", "residual": True, "norm": "layer"},
        {"seed": 9},
        {"steps": 150, "lr": 0.01},
    ),
    spec(
        "gelu",
        {"depth": 10, "activation": "gelu", "init": "kaiming"},
        {"seed": 1},
        {"steps": 150, "lr": 0.005},
    ),
    spec(
        "tanh_xavier",
        {"depth": 5, "activation": "tanh", "init": "xavier"},
        {"seed": 6},
        {"steps": 120, "lr": 0.01},
    ),
    spec(
        "cross_entropy",
        {**RELU, "depth": 4},
        {"task": "classification", "outputs": 10, "input_scale": 5.0, "seed": 7},
        {"steps": 100, "lr": 0.05},
    ),
    spec(
        "overfit_adam",
        {**RELU, "depth": 4},
        {"samples": 4, "seed": 8},
        {"steps": 120, "batch": 4, "optimizer": "adam", "lr": 0.003},
    ),
    spec(
        "clipped_high_lr",
        {**RELU, "depth": 6},
        {"seed": 2},
        {"steps": 120, "lr": 0.2, "momentum": 0.9, "clip_grad_norm": 1.0},
    ),
]


@pytest.mark.slow  # a hundred-odd steps each, long enough for the loss rule to judge
@pytest.mark.parametrize("s", HEALTHY, ids=lambda s: s.name)
def test_healthy_variations_get_no_warning_or_error(s):
    assert serious(diagnose(s)) == []


@pytest.mark.parametrize(("depth", "width", "seed"), [(10, 32, 2), (25, 100, 3), (12, 64, 4)])
def test_deep_sigmoid_stacks_vanish(depth, width, seed):
    s = spec(
        "sig",
        {"depth": depth, "width": width, "activation": "sigmoid"},
        {"seed": seed},
        {"steps": 12, "lr": 0.1},
    )
    d = first(diagnose(s), "vanishing_gradients")
    assert d.severity in ("warning", "error") and d.step == 0
    assert d.layers[0] == "blocks.0.linear"
    assert "shrink the gradient about" in d.message
    assert "0.25" in d.why


@pytest.mark.parametrize(("depth", "scale"), [(15, 0.02), (10, 0.01)])
def test_tiny_init_vanishes(depth, scale):
    s = spec(
        "tiny",
        {"depth": depth, "activation": "relu", "init": "small_uniform", "init_scale": scale},
        {"seed": 3},
        {"steps": 12, "lr": 0.005},
    )
    d = first(diagnose(s), "vanishing_gradients")
    assert d.severity in ("warning", "error") and "kaiming" in d.fix


@pytest.mark.parametrize(("depth", "seed"), [(4, 1), (4, 2), (8, 1), (8, 2)])
def test_diverging_runs_explode_before_they_go_nonfinite(depth, seed):
    s = spec(
        "boom", {**RELU, "depth": depth}, {"seed": seed}, {"steps": 40, "lr": 0.2, "momentum": 0.9}
    )
    found = diagnose(s)
    exploding = first(found, "exploding_gradients")
    nonfinite = first(found, "nonfinite")
    assert exploding.step < nonfinite.step
    assert "learning rate" in exploding.fix


def test_a_large_init_explodes_along_the_chain():
    s = spec(
        "large",
        {"depth": 12, "activation": "relu", "init": "small_uniform", "init_scale": 0.5},
        {"seed": 1},
        {"steps": 8, "lr": 1e-7},
    )
    d = first(diagnose(s), "exploding_gradients")
    assert (d.severity, d.step) == ("warning", 0)
    assert "gained on the way back" in d.message and d.layers[0] == "blocks.0.linear"


@pytest.mark.parametrize(("depth", "cut"), [(4, 1), (8, 6), (12, 5)])
def test_a_detach_names_exactly_the_layers_before_it(depth, cut):
    s = spec("cut", {**RELU, "depth": depth}, {"seed": 1}, {"steps": 8}, {"detach_at": cut})
    d = first(diagnose(s), "missing_gradients")
    assert d.severity == "error"
    assert d.layers == tuple(f"blocks.{i}.linear" for i in range(cut))
    assert f"cut at the input of blocks.{cut}" in d.message


@pytest.mark.parametrize(("depth", "lr"), [(3, 0.005), (10, 0.001)])
def test_a_missing_zero_grad_is_seen_directly(depth, lr):
    s = spec(
        "acc", {**RELU, "depth": depth}, {"seed": 2}, {"steps": 8, "lr": lr, "zero_grad": False}
    )
    d = first(diagnose(s), "gradient_accumulation")
    assert (d.severity, d.step) == ("error", 1)


@pytest.mark.parametrize(("scale", "lr", "seed"), [(10.0, 0.1, 3), (30.0, 0.05, 2)])
def test_log_of_softmax_names_the_loss(scale, lr, seed):
    s = spec(
        "logsm",
        {**RELU, "depth": 3},
        {"task": "classification", "outputs": 10, "input_scale": scale, "seed": seed},
        {"steps": 30, "lr": lr},
        {"loss": "log_softmax_manual"},
    )
    found = diagnose(s)
    d = first(found, "nonfinite")
    assert (d.severity, d.layers) == ("error", ())
    assert "loss" in d.message and "log_softmax" in d.fix
    assert [x.kind for x in found if x.severity == "error"] == ["nonfinite"]


@pytest.mark.parametrize(("activation", "at"), [("sigmoid", 0), ("tanh", 1), ("relu", 2)])
def test_an_inplace_op_is_explained(activation, at):
    s = spec(
        "inplace",
        {"depth": 4, "width": 16, "activation": activation},
        {"seed": 1},
        {"steps": 5},
        {"inplace_at": at},
    )
    d = first(diagnose(s), "autograd_error")
    assert d.severity == "error" and d.step == 0
    assert "changed in place" in d.message and "models.py" in d.message


def test_large_inputs_kill_relu_units():
    s = spec(
        "dead",
        {**RELU, "depth": 3},
        {"task": "classification", "outputs": 10, "input_scale": 30.0},
        {"steps": 40, "lr": 0.05},
    )
    d = first(diagnose(s), "dead_units")
    assert d.severity in ("warning", "error")
    assert "output zero on every sample" in d.message


def test_a_large_init_saturates_tanh():
    s = spec(
        "sat",
        {"depth": 6, "activation": "tanh", "init": "small_uniform", "init_scale": 1.0},
        {"seed": 1},
        {"steps": 30, "lr": 0.001},
    )
    d = first(diagnose(s), "saturated_activation")
    assert d.severity == "warning" and "tanh" in d.message


def test_learning_rates_far_too_small():
    stalled = diagnose(
        spec("stalled", {**RELU, "depth": 4}, {"seed": 1}, {"steps": 10, "lr": 1e-9})
    )
    d = first(stalled, "update_ratio")
    assert d.severity == "error" and "learning rate is too low" in d.message
    slow = diagnose(spec("slow", {**RELU, "depth": 4}, {"seed": 1}, {"steps": 200, "lr": 1e-6}))
    assert first(slow, "update_ratio").severity == "info"
    loss = first(slow, "loss_not_decreasing")
    assert loss.severity == "warning" and "not improved" in loss.message
    # a short run cannot tell a slow fall from a flat loss: at most info
    short = diagnose(spec("short", {**RELU, "depth": 4}, {"seed": 1}, {"steps": 60, "lr": 1e-6}))
    assert all(d.severity == "info" for d in short if d.kind == "loss_not_decreasing")


def _user_loop(model, optimizer, steps: int, zero_grad: bool = True) -> list[Diagnosis]:
    """A user's own training loop, watched with gradtui.watch."""
    import torch

    import gradtui.watch

    torch.manual_seed(0)
    x = torch.randn(256, 8)
    y = (2 * x[:, :1]).sin()
    diagnoser = Diagnoser()
    monitor = gradtui.watch(model, optimizer, on_event=diagnoser.observe, diagnose=False)
    for _ in range(steps):
        if zero_grad:
            optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        monitor.step(loss)
        optimizer.step()
    monitor.close()
    return diagnoser.diagnoses()


def _mlp():
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1)
    )


def test_a_layer_left_out_of_the_optimizer_is_frozen():
    import torch

    model = _mlp()
    trained = [p for name, p in model.named_parameters() if not name.startswith("2.")]
    found = _user_loop(model, torch.optim.SGD(trained, lr=0.05), steps=20)
    d = first(found, "frozen_parameters")
    assert d.severity == "warning" and d.layers == ("2",)
    # its .grad piles up because the optimizer's zero_grad() never sees it: still frozen only
    assert serious(found) == [("warning", "frozen_parameters", 0)]


def test_a_user_loop_without_zero_grad():
    import torch

    model = _mlp()
    found = _user_loop(model, torch.optim.SGD(model.parameters(), lr=0.01), 10, zero_grad=False)
    assert first(found, "gradient_accumulation").step == 1
