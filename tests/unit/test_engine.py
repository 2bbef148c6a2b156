"""The training loop's contract: events in order, stop on request, failures as events."""

import math

import pytest

from gradtui.events import RunFailed, RunFinished, RunStarted, StepStats
from gradtui.scenario.loop import run
from gradtui.scenario.spec import ScenarioSpec, resolve


def events_of(spec: ScenarioSpec, should_stop=lambda: False) -> list:
    events = []
    run(spec, events.append, should_stop)
    return events


def steps_of(events: list) -> list[StepStats]:
    return [e for e in events if isinstance(e, StepStats)]


def small(name: str, steps: int) -> ScenarioSpec:
    return resolve(name).with_overrides(steps=steps)


def test_events_come_in_order_with_one_step_event_per_step():
    events = events_of(small("relu_deep", 12))
    assert isinstance(events[0], RunStarted)
    assert [s.step for s in steps_of(events)] == list(range(12))
    assert events[-1] == RunFinished(steps_run=12)
    started = events[0]
    assert len(started.layers) == 21 and started.blocks[-1] == "head"
    assert all(len(s.grad_norm) == 21 and len(s.block_grad_norm) == 21 for s in steps_of(events))


def test_same_seed_same_losses_and_another_seed_differs():
    a = [s.loss for s in steps_of(events_of(small("relu_deep", 10)))]
    b = [s.loss for s in steps_of(events_of(small("relu_deep", 10)))]
    c = [s.loss for s in steps_of(events_of(resolve("relu_deep").with_overrides(10, seed=7)))]
    assert a == b and a != c


def test_should_stop_is_checked_every_step():
    calls = []

    def stop_after_five() -> bool:
        calls.append(1)
        return len(calls) > 5

    events = events_of(small("relu_deep", 100), stop_after_five)
    assert events[-1] == RunFinished(steps_run=5, stopped=True)
    assert len(steps_of(events)) == 5


def test_heavy_statistics_every_k_steps_only():
    heavy = [s.step for s in steps_of(events_of(small("relu_deep", 25))) if s.is_heavy]
    assert heavy == [0, 10, 20]


def test_dead_and_saturated_fractions_on_heavy_steps():
    relu = steps_of(events_of(small("relu_deep", 1)))[0]
    sigmoid = steps_of(events_of(small("sigmoid_deep", 1)))[0]
    assert relu.dead_frac[0] is not None and relu.saturated_frac[0] is None
    assert sigmoid.saturated_frac[0] is not None and sigmoid.dead_frac[0] is None
    assert relu.dead_frac[-1] is None  # the head has no activation


def test_carried_gradient_is_seen_directly_when_zero_grad_is_missing():
    forgetful = steps_of(events_of(small("missing_zero_grad", 5)))
    careful = steps_of(events_of(small("relu_deep", 5)))
    assert forgetful[0].carried_grad_norm == 0.0
    assert all(s.carried_grad_norm > 0 for s in forgetful[1:])
    assert all(s.carried_grad_norm == 0.0 for s in careful)
    # what .grad held before step 1's backward is exactly step 0's gradient
    assert forgetful[1].carried_grad_norm == pytest.approx(forgetful[0].grad_norm_total, rel=1e-5)


def test_broken_graph_blocks_before_the_detach_get_no_gradient():
    step = steps_of(events_of(small("broken_graph", 2)))[0]
    assert step.grad_norm[:4] == (None, None, None, None)
    assert all(n is not None for n in step.grad_norm[4:])
    assert step.block_grad_norm[:4] == (None, None, None, None)


def test_nonfinite_source_names_the_loss_for_log_of_softmax():
    steps = steps_of(events_of(resolve("log_softmax_nan")))
    first_bad = next(s for s in steps if not math.isfinite(s.grad_norm_total))
    assert first_bad.nonfinite_source == "loss"
    assert sum(first_bad.nonfinite) > 0 and first_bad.is_heavy


def test_a_run_that_stays_non_finite_is_ended():
    events = events_of(resolve("exploding_no_clip"))
    assert isinstance(events[-1], RunFinished) and events[-1].steps_run < 200
    assert not math.isfinite(steps_of(events)[-1].loss)


def test_clipping_reports_the_norm_before_and_after():
    steps = steps_of(events_of(small("exploding_clipped", 30)))
    assert all(s.grad_norm_clipped is not None for s in steps)
    assert all(s.grad_norm_clipped <= 1.0 + 1e-5 for s in steps)
    assert any(s.grad_norm_total > 1.0 for s in steps)


def test_an_exception_in_the_step_ends_the_run_with_an_event():
    events = events_of(resolve("inplace_op"))
    failed = events[-1]
    assert isinstance(failed, RunFailed) and failed.step == 0
    assert failed.error_type == "RuntimeError"
    assert "out = self.act(h)" in failed.forward_trace
