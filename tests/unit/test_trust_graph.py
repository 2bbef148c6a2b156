"""Issue 10, class 5: the lint of the loss's autograd graph at the first step names a softmax
fed to a loss that applies its own, log of a softmax, sigmoid into BCE, and parameters the
loss never reaches; the fixed twins raise nothing above info."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from gradtui.events import GraphIssue, StepStats, event_from_dict, event_to_dict
from tests.unit.trust_loops import (
    GRUNet,
    SmallCNN,
    TinyGPT,
    adam,
    image_batch,
    seeded,
    sequence_batch,
    token_batch,
    train,
)


def mlp(softmax: bool) -> nn.Module:
    layers = [nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4)]
    return nn.Sequential(*layers, *([nn.Softmax(dim=1)] if softmax else []))


def flat_images(step: int):
    x, y = image_batch(step, size=4)
    return x.flatten(1), y


@pytest.mark.parametrize("seed", [0, 1])
def test_cross_entropy_after_softmax_is_an_error_at_step_0(seed):
    result = train(seeded(lambda: mlp(True), seed), flat_images, 60, adam, loss_fn=F.cross_entropy)
    first = result.diagnoses[0]
    assert (first.kind, first.severity, first.step) == ("softmax_into_loss", "error", 0)
    assert "softmax -> cross_entropy" in first.message and "logits" in first.fix
    twin = train(seeded(lambda: mlp(False), seed), flat_images, 60, adam, loss_fn=F.cross_entropy)
    assert twin.above_info() == [] and "softmax_into_loss" not in twin.kinds()
    assert twin.losses[-1] < result.losses[-1]  # the fixed twin learns further


def test_log_of_softmax_is_flagged_before_it_makes_a_nan():
    def naive(out, y):
        return -torch.log(torch.softmax(out, dim=1)).gather(1, y[:, None]).mean()

    result = train(seeded(SmallCNN, 0), image_batch, 20, adam, loss_fn=naive)
    d = result.one("log_of_softmax")
    assert (d.severity, d.step) == ("warning", 0) and "softmax -> log" in d.message
    assert "log_softmax" in d.fix
    assert "nonfinite" not in result.kinds()  # flagged while everything is still finite

    def stable(out, y):
        return F.nll_loss(F.log_softmax(out, dim=1), y)

    assert train(seeded(SmallCNN, 0), image_batch, 20, adam, loss_fn=stable).above_info() == []


def test_sigmoid_into_binary_cross_entropy_asks_for_the_logits_form():
    def bce(out, y):
        return F.binary_cross_entropy(torch.sigmoid(out[..., 0]), (y % 2).float())

    result = train(seeded(GRUNet, 0), sequence_batch, 20, adam, loss_fn=bce)
    d = result.one("sigmoid_into_bce")
    assert d.step == 0 and "with_logits" in d.fix

    def with_logits(out, y):
        return F.binary_cross_entropy_with_logits(out[..., 0], (y % 2).float())

    twin = train(seeded(GRUNet, 0), sequence_batch, 20, adam, loss_fn=with_logits)
    assert twin.above_info() == []


class GPTWithLeftover(TinyGPT):
    """A projection built in __init__ and never called in forward."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(32, 32)


def test_parameters_the_loss_never_reaches_are_named_at_step_0():
    adamw = lambda model: torch.optim.AdamW(model.parameters(), lr=1e-3)  # noqa: E731
    result = train(seeded(GPTWithLeftover, 0), token_batch, 12, adamw)
    d = result.one("missing_gradients")
    assert d.step == 0 and d.layers == ("proj",)
    assert "proj.weight" in d.message or "proj" in d.message
    assert d.severity == "error"  # three steps later the missing rule confirms it
    assert result.status_of("proj") == "missing"


def test_graph_issues_travel_in_a_recording():
    issue = GraphIssue("unreached", ("loss",), ("proj.weight",))
    stats = StepStats(
        0, 1.0, 1.0, None, (1.0,), (0,), (1.0,), (0.0,), (1.0,), graph_issues=(issue,)
    )
    data = event_to_dict(stats)
    import json

    back = event_from_dict(json.loads(json.dumps(data)))
    assert back == stats


def test_the_log_softmax_nan_scenario_gets_the_lint_at_step_0():
    from gradtui.diagnosis import Diagnoser
    from gradtui.scenario.loop import run
    from gradtui.scenario.spec import resolve

    diagnoser = Diagnoser()
    run(resolve("log_softmax_nan"), diagnoser.observe)
    lint = [d for d in diagnoser.diagnoses() if d.kind == "log_of_softmax"]
    assert lint and lint[0].step == 0
    nonfinite = [d for d in diagnoser.diagnoses() if d.kind == "nonfinite"]
    assert nonfinite and nonfinite[0].step > 0  # the lint came first
