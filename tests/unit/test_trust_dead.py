"""Issue 10, class 4: a link cut or shrunk by dead units is told as dead units, in both
layouts (activation inside its block, or right after it as in nn.Sequential), never as
float32 underflow with an init fix; 'exactly zero' and 'shrinks Nx' never share a sentence."""

from __future__ import annotations

import re

import pytest
import torch
from torch.nn import functional as F

from gradtui.diagnosis import Diagnoser, texts
from gradtui.scenario.loop import run
from gradtui.scenario.spec import resolve
from tests.unit.trust_loops import deep_relu_mlp, regression_batch, seeded, train


def sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.05)


def sentences(text: str) -> list[str]:
    return re.split(r"(?<=\.) ", text)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_dead_relu_in_a_sequential_is_dead_units_not_underflow(seed):
    model = seeded(deep_relu_mlp, seed)
    with torch.no_grad():
        model[4].bias.fill_(-50.0)  # every unit of the ReLU after Linear 4 is dead
    result = train(model, regression_batch, 30, sgd, loss_fn=F.mse_loss)
    vanishing = result.one("vanishing_gradients")
    assert "underflow" not in vanishing.message
    assert "every unit of layer 4, right before it, is dead" in vanishing.message
    assert (vanishing.why, vanishing.fix) == (texts.DEAD_WHY, texts.DEAD_FIX)
    for sentence in sentences(vanishing.message):
        assert not ("exactly zero" in sentence and "shrinks" in sentence), sentence
    dead = result.one("dead_units")
    assert dead.severity == "error" and dead.layers[0] == "4"


@pytest.mark.parametrize("seed", [0, 1])
def test_the_same_mlp_alive_is_quiet(seed):
    result = train(seeded(deep_relu_mlp, seed), regression_batch, 30, sgd, loss_fn=F.mse_loss)
    assert result.above_info() == []
    assert {"vanishing_gradients", "dead_units"}.isdisjoint(result.kinds())


def test_mostly_dead_blocks_in_the_scenario_layout_get_the_dead_units_fix():
    """relu_deep at lr 1.0, clipped at 1.0: the last blocks are 64-100% dead."""
    spec = resolve("relu_deep")
    train_spec = spec.train.model_copy(update={"lr": 1.0, "clip_grad_norm": 1.0})
    diagnoser = Diagnoser()
    run(spec.model_copy(update={"train": train_spec}), diagnoser.observe)
    found = {d.kind: d for d in diagnoser.diagnoses()}
    vanishing = found["vanishing_gradients"]
    assert (vanishing.why, vanishing.fix) == (texts.DEAD_WHY, texts.DEAD_FIX)
    assert "dead" in vanishing.message and "underflow" not in vanishing.message
    assert f"From step {vanishing.step} on" in vanishing.message  # its step is the one it tells
    assert found["dead_units"].severity == "error"
