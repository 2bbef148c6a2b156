"""Issue 10, class 8: what the screen shows agrees with itself: a badge agrees with the
number beside it, nothing reads 'ok' without data, a run stopped for a non-finite loss says
so, and a finding's text starts at the step the finding is dated to."""

from __future__ import annotations

import re

import pytest
import torch
from torch.nn import functional as F

import gradtui
from gradtui.diagnosis import Diagnoser
from gradtui.events import RunFailed, RunFinished, StepStats
from gradtui.report.build import build_report, format_report
from gradtui.scenario.loop import run
from gradtui.scenario.spec import resolve
from gradtui.ui.history import RunHistory
from tests.unit.trust_loops import (
    GRUNet,
    deep_relu_mlp,
    regression_batch,
    seeded,
    sequence_batch,
    train,
)


def scenario_events(name: str, **overrides) -> list:
    events: list = []
    run(resolve(name).with_overrides(**overrides), events.append)
    return events


def test_no_zero_grad_never_shows_vanishing_beside_the_largest_norms():
    torch.manual_seed(0)
    model = deep_relu_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.02)
    events: list = []
    with gradtui.watch(model, optimizer=opt, on_event=events.append) as monitor:
        for step in range(60):
            x, y = regression_batch(step)
            loss = F.mse_loss(model(x), y)  # no opt.zero_grad(): .grad piles up
            loss.backward()
            monitor.step(loss)
            opt.step()
    assert monitor.diagnoses()[0].kind == "gradient_accumulation"
    assert "vanishing" not in monitor.diagnoser.layer_status()


def test_a_layer_whose_gradient_is_exactly_zero_does_not_read_ok():
    model = seeded(deep_relu_mlp, 0)
    with torch.no_grad():
        model[4].bias.fill_(-50.0)
    sgd = lambda m: torch.optim.SGD(m.parameters(), lr=0.05)  # noqa: E731
    result = train(model, regression_batch, 20, sgd, loss_fn=F.mse_loss, every=4)
    latest = result.steps[-1]
    for name, norm, status in zip(
        [layer.name for layer in result.started.layers],
        latest.grad_norm,
        result.status,
        strict=True,
    ):
        if norm == 0:
            assert status != "ok", name


def test_no_ok_before_data_or_after_a_run_that_failed_at_once():
    events = scenario_events("inplace_op", steps=3)
    assert isinstance(events[-1], RunFailed) and not any(isinstance(e, StepStats) for e in events)
    diagnoser = Diagnoser()
    diagnoser.observe(events[0])
    assert set(diagnoser.layer_status()) == {"no data"}
    for event in events[1:]:
        diagnoser.observe(event)
    assert set(diagnoser.layer_status()) == {"no data"}


def test_a_run_stopped_for_a_non_finite_loss_says_so():
    events = scenario_events("exploding_no_clip", steps=60)
    end = events[-1]
    assert isinstance(end, RunFinished) and end.reason == "nonfinite" and not end.stopped
    history = RunHistory()
    for event in events:
        history.absorb(event)
    assert history.state == "diverged" and history.ended
    diagnoser = Diagnoser()
    for event in events:
        diagnoser.observe(event)
    report = build_report(
        events, diagnoser.diagnoses(), diagnoser.links(), diagnoser.layer_status()
    )
    assert "the loss stayed non-finite" in format_report(report)
    assert report["stopped_reason"] == "nonfinite"


LEAD = re.compile(r"^(?:At|Since|By) step (\d+)\b")


@pytest.mark.parametrize("case", ["gru_diverges", "exploding_no_clip", "dead_relu"])
def test_a_findings_text_starts_at_its_own_step(case):
    if case == "gru_diverges":
        sgd = lambda m: torch.optim.SGD(m.parameters(), lr=30.0)  # noqa: E731
        found = train(seeded(GRUNet, 0), sequence_batch, 40, sgd).diagnoses
    else:
        diagnoser = Diagnoser()
        for event in scenario_events(case):
            diagnoser.observe(event)
        found = diagnoser.diagnoses()
    assert found
    for d in found:
        text = d.message
        if text.startswith("A consequence of the divergence"):
            text = text.split(": ", 1)[1]
        match = LEAD.match(text)
        if match:
            assert int(match.group(1)) == d.step, (d.kind, d.step, d.message)
