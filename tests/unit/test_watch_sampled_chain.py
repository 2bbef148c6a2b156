"""Under gradtui.watch the chain (the gradient at each block's output) is read on heavy steps
only: every ``every``-th step and the step after one that looked odd. Other steps record no
chain (``block_grad_norm`` None), and everything that reads the chain uses the last one read."""

from __future__ import annotations

import math

import torch
from torch import nn

import gradtui
from gradtui.diagnosis.chain import ChainTracker
from gradtui.events import StepStats
from gradtui.probe.locate import backward_culprit
from gradtui.recording.codec import LAYER_DIGITS, event_from_json, event_to_json
from tests.unit.diagnosis_fakes import one_link


def mlp(depth: int, activation: type[nn.Module], width: int = 16) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(8, width), activation()]
    for _ in range(depth - 1):
        layers += [nn.Linear(width, width), activation()]
    return nn.Sequential(*layers, nn.Linear(width, 1))


def run(model: nn.Module, steps: int, every: int, bad_at: int | None = None) -> tuple:
    torch.manual_seed(1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    events: list = []
    with gradtui.watch(model, opt, every=every, on_event=events.append) as monitor:
        for step in range(steps):
            x = torch.randn(32, 8)
            if step == bad_at:
                x[0, 0] = math.nan
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), x[:, :1])
            loss.backward()
            monitor.step(loss)
            if step != bad_at:
                opt.step()
    return [e for e in events if isinstance(e, StepStats)], monitor.diagnoses()


def test_the_chain_is_read_on_heavy_steps_and_after_a_bad_one():
    torch.manual_seed(0)
    steps, _ = run(mlp(3, nn.ReLU), steps=12, every=4, bad_at=5)
    read = [s.step for s in steps if s.block_grad_norm is not None]
    assert read == [0, 4, 6, 8]  # 6: the step after the non-finite step 5
    assert all(len(s.block_grad_norm) == 4 for s in steps if s.block_grad_norm is not None)
    assert all(s.grad_norm[0] is not None for s in steps)  # the layers: every step


def test_every_step_reads_the_chain_at_every_1():
    torch.manual_seed(0)
    steps, _ = run(mlp(3, nn.ReLU), steps=5, every=1)
    assert all(s.block_grad_norm is not None for s in steps)


def test_a_deep_sigmoid_chain_read_every_16_steps_is_still_found_vanishing():
    torch.manual_seed(0)
    _, found = run(mlp(14, nn.Sigmoid), steps=80, every=16)
    vanishing = [d for d in found if d.kind == "vanishing_gradients"]
    assert vanishing and vanishing[0].layers[0] == "0"


def test_its_relu_twin_read_the_same_way_stays_quiet():
    torch.manual_seed(0)
    model = mlp(14, nn.ReLU)
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
    _, found = run(model, steps=80, every=16)
    assert "vanishing_gradients" not in {d.kind for d in found}


def test_without_a_chain_the_layers_name_the_link_that_broke():
    stats = StepStats(
        step=3,
        loss=1.0,
        grad_norm_total=math.nan,
        grad_norm_clipped=None,
        grad_norm=(math.nan, math.nan, 0.5, 0.2),
        nonfinite=(4, 4, 0, 0),
        weight_norm=(1.0,) * 4,
        update_ratio=(0.0,) * 4,
        block_grad_norm=None,
    )
    blocks = ["a", "b", "c"]
    # layers 0-1 in block a, 2 in b, 3 in c: a's output gradient went bad, so b's backward
    assert backward_culprit(stats, blocks, [0, 0, 1, 2]) == "b"
    assert backward_culprit(stats, blocks, [0, 1, 2, 2]) == "c"
    assert backward_culprit(stats, blocks, [2, 2, 2, 2]) == "loss"
    assert backward_culprit(stats, blocks) == "backward"  # nothing to go on


def test_a_step_without_a_chain_keeps_the_last_one_read():
    chain = ChainTracker(("a", "b", "c"), window=8)
    chain.update((0.01, 0.1, 1.0))
    chain.update(None)
    assert chain.norms == (0.01, 0.1, 1.0)
    assert chain.depth_gain == 0.01


def test_a_step_without_a_chain_is_recorded_without_one():
    started = one_link(depth=1)  # two layers, one block
    stats = StepStats(1, 1.0, 1.0, None, (1.0, 0.5), (0, 0), (2.0, 3.0), (1e-3, 2e-3), None)
    for line in (event_to_json(stats, LAYER_DIGITS), event_to_json(stats)):
        assert event_from_json(line, 2, started) == stats
    compact = event_to_json(stats, LAYER_DIGITS)
    assert "block_grad_norm" not in compact and "grad_norm_clipped" not in compact
