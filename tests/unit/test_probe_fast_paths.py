"""The probe's cheaper paths give the same numbers as the plain ones.

Stacked reductions (tensors of one shape reduced together), gradients taken from the autograd
engine instead of hooks, and plain SGD's update sizes taken from the gradient norms: each is
checked against a per-tensor computation on a deep network, where many tensors share a shape.
"""

from __future__ import annotations

import math

import pytest
import torch

from gradtui.probe import private_torch
from gradtui.probe.heavy import ActivationTally, gradient_spread
from gradtui.probe.norms import MAX_STACKED_NUMEL, NormPlan
from gradtui.probe.probe import MAX_READINGS, Probe
from gradtui.scenario.loop import make_optimizer, watch_points
from gradtui.scenario.models import batches, build_model, make_data
from gradtui.scenario.spec import ScenarioSpec


def mixed_tensors() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    shapes = [(4, 3), (4, 3), (5,), (4, 3), (2, 2, 2), (5,), (5,), (4, 3), (1,), (5,)]
    tensors = [torch.randn(s, generator=g) for s in shapes]
    tensors.append(torch.randn(4, 3, generator=g).double())  # same shape, other dtype
    return tensors


def test_a_plan_stacks_shared_shapes_and_keeps_the_order():
    tensors = mixed_tensors()
    plan = NormPlan(tensors)
    assert [len(members) for members in plan.stacks] == [4, 4]  # (4, 3) float, (5,) float
    assert len(plan.singles) == 3  # the 2x2x2, the (1,) and the float64 (4, 3)
    values = torch.cat(plan.norms(plan.gather(tensors))).tolist()
    expected = [torch.linalg.vector_norm(t).item() for t in tensors]
    assert plan.arrange(values) == pytest.approx(expected, rel=1e-6)


def test_a_copying_gather_is_a_snapshot():
    tensors = mixed_tensors()
    plan = NormPlan(tensors)
    before = [torch.linalg.vector_norm(t).item() for t in tensors]
    snapshot = plan.gather(tensors, copy=True)
    for t in tensors:
        t.mul_(3.0)
    values = torch.cat(plan.norms(snapshot)).tolist()
    assert plan.arrange(values) == pytest.approx(before, rel=1e-6)


def test_gradient_spread_matches_tensor_by_tensor():
    tensors = [*mixed_tensors(), torch.zeros(4, 3)]
    tensors[1][0, 0] = 0.0
    grads = [None, *tensors, None]
    mean_abs, max_abs, zero_frac = gradient_spread(grads)
    assert mean_abs[0] is None and zero_frac[-1] is None
    measured = zip(mean_abs[1:-1], max_abs[1:-1], zero_frac[1:-1], strict=True)
    for got, t in zip(measured, tensors, strict=True):
        want = (t.abs().mean().item(), t.abs().max().item(), (t == 0).double().mean().item())
        assert got == pytest.approx(want, rel=1e-6, abs=1e-12)


def test_zero_share_stays_exact_when_a_gradient_holds_nan():
    grads = [torch.ones(4, 3) for _ in range(4)]
    grads[2][0, :2] = 0.0
    grads[2][1, 0] = math.nan  # the stacked count goes NaN; the share must not
    mean_abs, _, zero_frac = gradient_spread(grads)
    assert zero_frac == pytest.approx((0.0, 0.0, 2 / 12, 0.0))
    assert math.isnan(mean_abs[2])


def test_zero_share_of_a_gradient_reduced_alone_stays_exact_with_nan_and_half_floats():
    odd = torch.ones(3, 5, 7)  # a shape of its own: reduced alone, not stacked
    odd[0, :3] = 0.0
    odd[1, 0, 0] = math.nan
    half = torch.ones(2, 11, dtype=torch.bfloat16)
    half[0, :4] = 0.0
    mean_abs, max_abs, zero_frac = gradient_spread([odd, half])
    assert zero_frac == pytest.approx((21 / 105, 4 / 22))
    assert math.isnan(mean_abs[0]) and max_abs[1] == 1.0


def test_activation_fractions_match_block_by_block():
    g = torch.Generator().manual_seed(1)
    big = MAX_STACKED_NUMEL // 8 + 1  # 8 samples of this many units: reduced on the spot
    inputs = {
        0: ("ReLU", torch.randn(16, 8, generator=g) - 1.5),
        1: ("ReLU", torch.randn(16, 8, generator=g) - 1.0),
        2: ("ReLU", torch.randn(16, 8, generator=g)),
        3: ("Sigmoid", 4 * torch.randn(16, 8, generator=g)),
        4: ("Tanh", 2 * torch.randn(16, 2, 3, generator=g)),
        5: ("ReLU", torch.randn(8, big, generator=g) - 3.0),
        6: ("Sigmoid", 4 * torch.randn(8, big, generator=g)),
        7: ("Identity", torch.randn(16, 8, generator=g)),
    }
    tally = ActivationTally()
    for block, (kind, z) in inputs.items():
        tally.add(block, kind, z)
    dead, saturated = tally.fractions(9)
    for block in (0, 1, 2, 5):
        z = inputs[block][1]
        assert dead[block] == pytest.approx((z.amax(0) <= 0).double().mean().item())
        assert saturated[block] is None
    for block, limit in ((3, 3.64), (4, 1.82), (6, 3.64)):
        z = inputs[block][1]
        assert saturated[block] == pytest.approx((z.abs() > limit).double().mean().item())
        assert dead[block] is None
    assert dead[5] > 0 and dead[7] is None and saturated[8] is None
    tally.clear()
    assert tally.fractions(9) == (None, None)


def deep(**train) -> ScenarioSpec:
    return ScenarioSpec(
        name="deep",
        title="deep",
        lesson="fast paths",
        model={"depth": 12, "width": 16, "activation": "tanh", "init": "xavier"},
        data={"samples": 256, "inputs": 6, "outputs": 1, "seed": 4},
        train={"batch": 32, "lr": 0.05, "heavy_every": 1, **train},
    )


def probed_steps(spec: ScenarioSpec, engine_backward: bool, steps: int = 3):
    """Statistics of a few steps, gradients by the engine's capture or by hooks; with the
    engine's path the optimizer is handed over (plain SGD: update sizes from the norms)."""
    net = build_model(spec)
    optimizer = make_optimizer(spec, net)
    probe = Probe(
        net,
        watch_points(net),
        1,
        block_hooks=not engine_backward,
        optimizer=optimizer if engine_backward else None,
    )
    if engine_backward:
        net.tap = probe.tap
    data = batches(make_data(spec.data), spec.train.batch, 0)
    done = []
    for step in range(steps):
        x, y = next(data)
        optimizer.zero_grad(set_to_none=True)
        probe.arm(step)
        loss = torch.nn.functional.mse_loss(net(x), y)
        if engine_backward:
            probe.backward(loss)
        else:
            loss.backward()
        stats = probe.after_backward(step, loss)
        limit = spec.train.clip_grad_norm
        if limit:
            torch.nn.utils.clip_grad_norm_(net.parameters(), limit)
            total = stats.grad_norm_total
            stats = stats.__class__(**{**stats.__dict__, "grad_norm_clipped": min(total, limit)})
        optimizer.step()
        probe.after_optimizer(stats)
        done.append(probe.take_completed())
    done.append(probe.flush())
    return [s for s in done if s is not None]


@pytest.mark.parametrize("clip", [0.0, 0.05])
def test_engine_capture_and_sgd_updates_agree_with_hooks_and_snapshots(clip: float):
    fast = probed_steps(deep(clip_grad_norm=clip), engine_backward=True)
    plain = probed_steps(deep(clip_grad_norm=clip), engine_backward=False)
    assert len(fast) == len(plain) == 3
    for a, b in zip(fast, plain, strict=True):
        assert a.loss == b.loss
        assert a.grad_norm == pytest.approx(b.grad_norm, rel=1e-6)
        assert a.block_grad_norm == pytest.approx(b.block_grad_norm, rel=1e-6)
        assert a.weight_norm == pytest.approx(b.weight_norm, rel=1e-6)
        # the snapshot path subtracts two nearby weights: agreement to float32 rounding
        assert a.update_ratio == pytest.approx(b.update_ratio, rel=2e-3)
        assert a.grad_mean_abs == pytest.approx(b.grad_mean_abs, rel=1e-6)
        assert a.dead_frac == b.dead_frac and a.saturated_frac == b.saturated_frac
    assert all(r > 0 and math.isfinite(r) for r in fast[0].update_ratio)


def test_momentum_is_measured_from_the_weights_not_the_gradients():
    # With momentum the step is lr times the velocity, not the gradient: were the gradient
    # shortcut taken, later steps' update ratios would disagree with the weights' change.
    fast = probed_steps(deep(momentum=0.9), engine_backward=True, steps=4)
    plain = probed_steps(deep(momentum=0.9), engine_backward=False, steps=4)
    for a, b in zip(fast, plain, strict=True):
        assert a.update_ratio == pytest.approx(b.update_ratio, rel=1e-6)
    assert fast[-1].update_ratio[0] > 1.5 * fast[0].update_ratio[0]  # the velocity built up


def test_shapes_that_keep_changing_stay_right_and_bounded():
    # A model fed a new batch size each step (sequences of varying length do this) needs a
    # new plan each step: the numbers stay exact and the plans kept stay few.
    spec = deep()
    net = build_model(spec)
    probe = Probe(net, watch_points(net), 1000, block_hooks=False)
    net.tap = probe.tap
    x_all, y_all = make_data(spec.data).x, make_data(spec.data).y
    for step, batch in enumerate(range(2, 2 + 3 * MAX_READINGS)):
        x, y = x_all[:batch], y_all[:batch]
        net.zero_grad(set_to_none=True)
        probe.arm(step)
        out = net(x)
        out.retain_grad()
        loss = torch.nn.functional.mse_loss(out, y)
        probe.backward(loss)
        stats = probe.after_backward(step, loss)
        assert stats.block_grad_norm[-1] == pytest.approx(out.grad.norm().item(), rel=1e-6)
        assert stats.grad_norm[0] == pytest.approx(
            net.blocks[0].linear.weight.grad.norm().item(), rel=1e-6
        )
        probe.after_optimizer(stats)
        assert len(probe._readings) <= MAX_READINGS


def test_without_the_private_engine_call_the_public_one_gives_the_same(monkeypatch):
    class MovedApi:
        def run_backward(self, *args):
            raise TypeError("run_backward() takes other arguments now")

    expected = probed_steps(deep(), engine_backward=True)
    monkeypatch.setattr(private_torch, "_ENGINE", MovedApi())
    fallen_back = probed_steps(deep(), engine_backward=True)
    assert private_torch._ENGINE is None  # it stops trying after the first refusal
    for a, b in zip(expected, fallen_back, strict=True):
        assert (a.loss, a.grad_norm, a.block_grad_norm) == (b.loss, b.grad_norm, b.block_grad_norm)


def test_a_gradient_that_goes_to_zero_makes_the_next_step_heavy():
    """Dead units are looked for right after a layer's gradient first becomes exactly zero,
    not k steps later; a gradient that stays zero does not keep every step heavy."""
    spec = deep(heavy_every=100)
    net = build_model(spec)
    optimizer = make_optimizer(spec, net)
    probe = Probe(net, watch_points(net), 100)
    data = batches(make_data(spec.data), spec.train.batch, 0)
    heavy = []
    for step in range(6):
        x, y = next(data)
        optimizer.zero_grad(set_to_none=True)
        probe.arm(step)
        torch.nn.functional.mse_loss(net(x), y).backward()
        if step >= 2:  # from step 2 on, the first layer's gradient is exactly zero
            net.blocks[0].linear.weight.grad.zero_()
        stats = probe.after_backward(step, torch.tensor(0.0))
        heavy.append(stats.dead_frac is not None)
        optimizer.step()
        probe.after_optimizer(stats)
    assert heavy == [True, False, False, True, False, False]


def test_a_large_weight_is_measured_from_a_sample_not_a_copy():
    """Over SAMPLE_ABOVE entries, the weight's norm and its update are estimated from a
    sample (within a few percent under Adam), and no copy of the weight is kept."""
    from gradtui.probe.updates import SAMPLE_ABOVE, SAMPLE_SIZE, UpdateTracker

    torch.manual_seed(0)
    weight = torch.nn.Parameter(torch.randn(600, 500))
    assert weight.numel() > SAMPLE_ABOVE
    opt = torch.optim.Adam([weight], lr=1e-2)
    tracker = UpdateTracker([weight])
    for _ in range(3):
        opt.zero_grad()
        (weight.square() * torch.rand_like(weight)).sum().backward()
        before = weight.detach().clone()
        norms = torch.cat(tracker.snapshot()).tolist()
        opt.step()
        tracker.mark_step()
        change = torch.cat(tracker.change_norms()).tolist()
        assert tracker.arrange(norms) == pytest.approx([before.norm().item()], rel=0.02)
        exact = (weight.detach() - before).norm().item()
        assert tracker.arrange(change) == pytest.approx([exact], rel=0.05)
    kept = sum(t.numel() for t in [*tracker._samples, *tracker._copies])
    assert kept <= 2 * SAMPLE_SIZE


def test_a_large_gradient_spread_is_exact_at_the_max_and_close_elsewhere():
    torch.manual_seed(0)
    big = torch.randn(700, 300)
    big[::3] = 0.0  # a third of the rows zero
    small = torch.randn(5, 7)
    mean_abs, max_abs, zero_frac = gradient_spread([big, None, small])
    assert max_abs[0] == big.abs().max().item()
    assert mean_abs[0] == pytest.approx(big.abs().mean().item(), rel=0.05)
    assert zero_frac[0] == pytest.approx(1 / 3, abs=0.03)
    assert mean_abs[1] is None
    assert mean_abs[2] == pytest.approx(small.abs().mean().item(), rel=1e-6)
    assert max_abs[2] == pytest.approx(small.abs().max().item())
