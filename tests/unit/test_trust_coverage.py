"""Issue 10, class 2: weights that never move are frozen_parameters, named at watch() when the
optimizer does not hold them, and never blamed on the learning rate."""

from __future__ import annotations

import copy
import logging

import pytest
import torch

import gradtui
from tests.unit.trust_loops import CharMLP, SmallCNN, char_batch, image_batch, seeded, train


def no_learning_rate_advice(result) -> None:
    for d in result.diagnoses:
        assert "raise the learning rate" not in (d.message + d.fix).lower(), d
        assert "learning rate is too low" not in d.message and "far too low" not in d.message


@pytest.mark.parametrize("seed", [0, 1])
def test_an_optimizer_built_over_another_model_object_is_named_at_watch(seed, caplog):
    model = seeded(CharMLP, seed)
    other = copy.deepcopy(model)  # e.g. built before the model was copied to its device
    opt = torch.optim.SGD(other.parameters(), lr=0.1)
    with caplog.at_level(logging.WARNING, logger="gradtui.watch"):
        result = train(model, char_batch, 40, None, optimizer=opt)
    said = [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith("gradtui.watch: the optimizer")
    ]
    assert len(said) == 1 and "fc1.weight" in said[0] and "head.bias" in said[0]
    first = result.diagnoses[0]
    assert (first.kind, first.severity, first.step) == ("frozen_parameters", "error", 0)
    assert set(first.layers) == {"embed", "fc1", "fc2", "head"}
    assert "built over another model object" in first.message
    assert "model.parameters()" in first.fix
    assert set(result.status) == {"frozen"}
    no_learning_rate_advice(result)


@pytest.mark.parametrize("seed", [0, 1])
def test_weights_that_never_move_are_frozen_even_when_no_layer_moves(seed):
    """Without the optimizer given to watch(), the updates are measured, all exactly zero."""
    model = seeded(CharMLP, seed)
    opt = torch.optim.SGD(copy.deepcopy(model).parameters(), lr=0.1)
    result = train(model, char_batch, 40, None, optimizer=opt, watch_optimizer=False)
    frozen = result.one("frozen_parameters")
    assert frozen.severity == "warning" and set(frozen.layers) == {"embed", "fc1", "fc2", "head"}
    assert "nothing applies them" in frozen.message
    no_learning_rate_advice(result)


def test_a_backbone_left_out_of_the_optimizer_is_named():
    model = seeded(SmallCNN, 0)
    opt = torch.optim.SGD(model.head.parameters(), lr=0.1, momentum=0.9)
    result = train(model, image_batch, 30, None, optimizer=opt)
    d = result.one("frozen_parameters")
    assert d.severity == "warning" and d.step == 0
    assert "stem.0.weight" in d.message and "head" not in d.layers
    assert result.status_of("conv1") == "frozen" and result.status_of("head") == "ok"


@pytest.mark.parametrize("seed", [0, 1])
def test_the_fixed_twin_is_quiet(seed, caplog):
    model = seeded(CharMLP, seed)
    with caplog.at_level(logging.WARNING, logger="gradtui.watch"):
        result = train(model, char_batch, 40, lambda m: torch.optim.SGD(m.parameters(), lr=0.1))
    assert not [
        r for r in caplog.records if r.getMessage().startswith("gradtui.watch: the optimizer")
    ]
    assert "frozen_parameters" not in result.kinds()
    assert result.above_info() == []


def test_the_coverage_check_travels_in_the_recording(tmp_path):
    from gradtui.recording import read_recording

    model = seeded(CharMLP, 0)
    opt = torch.optim.SGD(model.head.parameters(), lr=0.1)
    with gradtui.watch(model, opt, record=tmp_path / "run.jsonl") as monitor:
        x, y = char_batch(0)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        monitor.step(loss)
        opt.step()
    started = read_recording(tmp_path / "run.jsonl").events[0]
    assert (
        "fc1.weight" in started.not_in_optimizer and "head.weight" not in started.not_in_optimizer
    )
