"""Issue 10, class 7: call-order mistakes and wrong arguments get one clear message, never a
confident wrong diagnosis or a 'please report'; a module added after watch() is named."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import gradtui
from tests.unit.trust_loops import CharMLP, char_batch, seeded


def run_loop(order: str, steps: int = 30, seed: int = 0):
    """A loop whose monitor.step sits where ``order`` says; returns the monitor."""
    torch.set_num_threads(1)
    model = seeded(CharMLP, seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    monitor = gradtui.watch(model, optimizer=opt)
    for step in range(steps):
        x, y = char_batch(step)
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        if order == "before_backward":
            monitor.step(loss)
        loss.backward()
        if order in ("right", "twice"):
            monitor.step(loss)
        if order == "twice":
            monitor.step(loss)
        opt.step()
        if order == "after_optimizer":
            monitor.step(loss)
    monitor.close()
    return monitor


def usage_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "the right order is" in r.getMessage()]


@pytest.mark.parametrize(
    ("order", "said"),
    [
        ("after_optimizer", "after optimizer.step()"),
        ("before_backward", "before loss.backward()"),
    ],
)
def test_monitor_step_out_of_order_is_one_usage_message_and_no_finding(order, said, caplog):
    with caplog.at_level(logging.WARNING, logger="gradtui.watch"):
        monitor = run_loop(order)
    (line,) = usage_lines(caplog)
    assert said in line and "loss.backward(); monitor.step(loss); optimizer.step()" in line
    assert monitor.diagnoses() == []  # it used to say 'learning rate too low' or 'not connected'
    assert monitor.steps == 0  # no step was measured
    assert not [r for r in caplog.records if "please report" in r.getMessage().lower()]


def test_monitor_step_twice_per_step_measures_the_first_call_only(caplog):
    with caplog.at_level(logging.WARNING, logger="gradtui.watch"):
        monitor = run_loop("twice")
    (line,) = usage_lines(caplog)
    assert "twice in one step" in line
    assert monitor.steps == 30
    assert [d for d in monitor.diagnoses() if d.severity != "info"] == []


def test_the_right_order_and_micro_batches_say_nothing(caplog):
    with caplog.at_level(logging.WARNING, logger="gradtui.watch"):
        right = run_loop("right")
        assert right.steps == 30
        assert [d for d in right.diagnoses() if d.severity != "info"] == []
        model = seeded(CharMLP, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        with gradtui.watch(model, optimizer=opt) as monitor:
            for step in range(10):
                opt.zero_grad()
                for half in range(2):  # gradient accumulation over two micro-batches
                    x, y = char_batch(2 * step + half)
                    (F.cross_entropy(model(x), y) / 2).backward()
                monitor.step(torch.tensor(0.0))
                opt.step()
        assert monitor.steps == 10
    assert usage_lines(caplog) == []
    assert "gradient_accumulation" not in {d.kind for d in monitor.diagnoses()}


def test_wrong_arguments_raise_at_watch_not_as_an_internal_error(caplog):
    model = CharMLP()
    with caplog.at_level(logging.WARNING, logger="gradtui.watch"):
        with pytest.raises(TypeError, match=r"torch\.nn\.Module, got str"):
            gradtui.watch("hello")
        with pytest.raises(TypeError, match="optimizer"):
            gradtui.watch(model, optimizer="sgd")
        with pytest.raises(ValueError, match="finite_checks"):
            gradtui.watch(model, finite_checks="never")
        with pytest.raises(TypeError, match="every"):
            gradtui.watch(model, every=2.5)
        frozen = nn.Linear(3, 3).requires_grad_(False)
        with pytest.raises(ValueError, match="no parameter with requires_grad=True"):
            gradtui.watch(frozen)
        with gradtui.watch(model) as monitor:
            out = model(char_batch(0)[0])
            loss = F.cross_entropy(out, char_batch(0)[1], reduction="none")
            loss.mean().backward()
            with pytest.raises(ValueError, match="scalar loss"):
                monitor.step(loss)
            with pytest.raises(TypeError, match="loss tensor or a float"):
                monitor.step("0.3")
    assert not [r for r in caplog.records if "please report" in r.getMessage().lower()]


def test_a_module_added_after_watch_is_named(caplog):
    model = seeded(CharMLP, 0)
    with caplog.at_level(logging.WARNING, logger="gradtui.watch"):
        monitor = gradtui.watch(model)
        model.extra = nn.Linear(12, 12)  # added after watch(), then used
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for step in range(3):
            x, y = char_batch(step)
            opt.zero_grad()
            loss = F.cross_entropy(model.extra(model(x)), y)
            loss.backward()
            monitor.step(loss)
            opt.step()
        monitor.close()
    assert any(
        "extra got trainable parameters after watch()" in r.getMessage() for r in caplog.records
    )
    d = [d for d in monitor.diagnoses() if d.kind == "not_watched"]
    assert d and d[0].severity == "warning" and "extra" in d[0].message


class ScaledMLP(nn.Module):
    def __init__(self, registered: bool) -> None:
        super().__init__()
        self.fc = nn.Linear(36, 12)
        scale = torch.ones(12, requires_grad=True)
        self.scale = nn.Parameter(scale) if registered else scale

    def forward(self, x):
        return self.fc(F.one_hot(x, 12).float().flatten(1)) * self.scale


@pytest.mark.parametrize("registered", [False, True])
def test_a_tensor_that_wants_a_gradient_but_is_not_a_parameter_is_a_warning(registered, caplog):
    model = ScaledMLP(registered)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with (
        caplog.at_level(logging.WARNING, logger="gradtui.watch"),
        gradtui.watch(model, optimizer=opt) as monitor,
    ):
        for step in range(5):
            x, y = char_batch(step)
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            monitor.step(loss)
            opt.step()
    found = [d for d in monitor.diagnoses() if d.kind == "unregistered_parameter"]
    if registered:
        assert found == [] and not [r for r in caplog.records if "nn.Parameter" in r.getMessage()]
    else:
        assert found and found[0].severity == "warning" and "scale" in found[0].message
        assert "nn.Parameter(" in found[0].fix
