"""The probe's numbers against a backward pass written out by hand, and against autograd.

The network is the notes' first exercise: x -> Linear -> ReLU -> Linear -> MSE.
"""

import math

import pytest
import torch

from gradtui.events import StepStats
from gradtui.scenario.loop import run
from gradtui.scenario.models import batches, build_model, make_data
from gradtui.scenario.spec import ScenarioSpec

SPEC = ScenarioSpec(
    name="two_layer",
    title="two layers",
    lesson="by hand",
    model={"depth": 1, "width": 8, "activation": "relu"},
    data={"samples": 32, "inputs": 5, "outputs": 1, "seed": 3},
    train={"steps": 1, "batch": 16, "lr": 0.1, "heavy_every": 1},
)


def _probe_step() -> StepStats:
    events = []
    run(SPEC, events.append)
    (stats,) = [e for e in events if isinstance(e, StepStats)]
    return stats


def _by_hand():
    net = build_model(SPEC).double()
    x, t = next(batches(make_data(SPEC.data), SPEC.train.batch, SPEC.data.seed))
    x, t = x.double(), t.double()
    w1, b1 = net.blocks[0].linear.weight.detach(), net.blocks[0].linear.bias.detach()
    w2, b2 = net.head.weight.detach(), net.head.bias.detach()
    z1 = x @ w1.T + b1
    h = z1.clamp(min=0)
    y = h @ w2.T + b2
    n = y.numel()
    dy = 2 * (y - t) / n  # d mean((y - t)^2) / dy
    dw2 = dy.T @ h
    dh = dy @ w2
    dz1 = dh * (z1 > 0)
    dw1 = dz1.T @ x
    loss = ((y - t) ** 2).mean()
    return {"loss": loss, "dw1": dw1, "dw2": dw2, "dy": dy, "dh": dh, "w1": w1, "w2": w2}


def test_hand_written_backward_matches_autograd():
    hand = _by_hand()
    net = build_model(SPEC).double()
    x, t = next(batches(make_data(SPEC.data), SPEC.train.batch, SPEC.data.seed))
    loss = torch.nn.functional.mse_loss(net(x.double()), t.double())
    loss.backward()
    torch.testing.assert_close(net.blocks[0].linear.weight.grad, hand["dw1"])
    torch.testing.assert_close(net.head.weight.grad, hand["dw2"])


def test_probe_norms_match_the_hand_computed_backward():
    stats = _probe_step()
    hand = _by_hand()
    close = pytest.approx
    assert stats.loss == close(hand["loss"].item(), rel=1e-5)
    assert stats.grad_norm[0] == close(hand["dw1"].norm().item(), rel=1e-5)
    assert stats.grad_norm[1] == close(hand["dw2"].norm().item(), rel=1e-5)
    # dL/d(head output) and dL/d(block 0 output): the chain's two links
    assert stats.block_grad_norm[1] == close(hand["dy"].norm().item(), rel=1e-5)
    assert stats.block_grad_norm[0] == close(hand["dh"].norm().item(), rel=1e-5)
    assert stats.weight_norm[0] == close(hand["w1"].norm().item(), rel=1e-5)


def test_heavy_statistics_are_exact():
    stats = _probe_step()
    dw1 = _by_hand()["dw1"]
    assert stats.grad_mean_abs[0] == pytest.approx(dw1.abs().mean().item(), rel=1e-5)
    assert stats.grad_max_abs[0] == pytest.approx(dw1.abs().max().item(), rel=1e-5)
    assert stats.grad_zero_frac[0] == pytest.approx((dw1 == 0).double().mean().item(), abs=1e-9)


def test_update_ratio_is_the_sgd_step_over_the_weight():
    stats = _probe_step()
    hand = _by_hand()
    expected = SPEC.train.lr * hand["dw1"].norm().item() / hand["w1"].norm().item()
    assert stats.update_ratio[0] == pytest.approx(expected, rel=1e-4)


def test_total_norm_covers_every_parameter_including_biases():
    net = build_model(SPEC)
    x, t = next(batches(make_data(SPEC.data), SPEC.train.batch, SPEC.data.seed))
    torch.nn.functional.mse_loss(net(x), t).backward()
    expected = math.sqrt(sum(p.grad.norm().item() ** 2 for p in net.parameters()))
    assert _probe_step().grad_norm_total == pytest.approx(expected, rel=1e-5)


def test_dead_unit_fraction_is_exact():
    stats = _probe_step()
    net = build_model(SPEC).double()
    x, _ = next(batches(make_data(SPEC.data), SPEC.train.batch, SPEC.data.seed))
    z1 = net.blocks[0].linear(x.double())
    dead = (z1 <= 0).all(dim=0).double().mean().item()
    assert stats.dead_frac[0] == pytest.approx(dead, abs=1e-12)
    assert stats.saturated_frac[0] is None  # ReLU has no flat tails


def test_saturated_fraction_is_exact():
    spec = SPEC.model_copy(
        update={
            "model": SPEC.model.model_copy(update={"activation": "sigmoid"}),
            "data": SPEC.data.model_copy(update={"input_scale": 4.0}),
        }
    )
    events = []
    run(spec, events.append)
    (stats,) = [e for e in events if isinstance(e, StepStats)]
    net = build_model(spec)
    x, _ = next(batches(make_data(spec.data), spec.train.batch, spec.data.seed))
    z1 = net.blocks[0].linear(x)
    expected = (z1.abs() > 3.64).double().mean().item()
    assert 0 < expected < 1
    assert stats.saturated_frac[0] == pytest.approx(expected, abs=1e-12)
    assert stats.dead_frac[0] is None
