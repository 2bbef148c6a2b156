"""A loss that cannot move because no weight moves (a learning rate of 0, a schedule that
reached 0, an optimizer that holds none of the model's parameters) is named by its cause, and
the stuck loss is shown as that cause's consequence, with no advice of its own. The twins
with a working optimizer say nothing of either."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import gradtui
from gradtui.report.recorded import report_files

STEPS = 150


class Gru(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.GRU(4, 16, batch_first=True)
        self.head = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x.view(x.shape[0], 2, 4))[0][:, -1])


def model(kind: str) -> nn.Module:
    torch.manual_seed(0)
    if kind == "cnn":
        return nn.Sequential(
            nn.Unflatten(1, (2, 2, 2)), nn.Conv2d(2, 8, 2), nn.ReLU(), nn.Flatten(),
            nn.Linear(8, 1),
        )  # fmt: skip
    if kind == "gru":
        return Gru()
    return nn.Sequential(
        nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1)
    )


def train(tmp_path: Path, kind: str, setup: str) -> list[dict]:
    net = model(kind)
    schedule = None
    if setup == "lr0":
        opt = torch.optim.SGD(net.parameters(), lr=0.0)
    elif setup in ("schedule_to_0", "schedule_with_floor"):
        opt = torch.optim.Adam(net.parameters(), lr=3e-3)
        floor = 0.0 if setup == "schedule_to_0" else 0.1
        schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(floor, 1 - s / 20))
    elif setup == "other_params":
        opt = torch.optim.Adam(nn.Linear(3, 3).parameters(), lr=3e-3)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(256, 8, generator=g)
    y = x[:, :1] * 2 + x[:, 1:2]
    path = tmp_path / f"{kind}-{setup}.jsonl"
    with gradtui.watch(net, opt, record=path, every=4, diagnose=False) as monitor:
        for _ in range(STEPS):
            opt.zero_grad()
            loss = nn.functional.mse_loss(net(x), y)
            loss.backward()
            monitor.step(loss)
            opt.step()
            if schedule is not None:
                schedule.step()
    return report_files([path]).report["diagnoses"]


def by_kind(found: list[dict]) -> dict[str, dict]:
    return {d["kind"]: d for d in found}


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_a_learning_rate_of_0_is_the_cause_and_the_stuck_loss_its_consequence(tmp_path, kind):
    found = by_kind(train(tmp_path, kind, "lr0"))
    frozen = found["frozen_parameters"]
    assert "learning rate has been 0 since step 0" in frozen["message"]
    assert "0 from the start" in frozen["message"] and "above 0" in frozen["fix"]
    assert "in the optimizer" not in frozen["fix"]  # the parameters are there
    assert {e["name"] for e in frozen["evidence"]} == {"learning rate"}
    loss = found["loss_not_decreasing"]
    assert loss["severity"] == "info" and loss["message"].startswith("A consequence of")
    assert "learning rate" not in loss["fix"]


@pytest.mark.parametrize("kind", ["mlp", "gru"])
def test_a_schedule_that_reached_0_is_named_with_the_step(tmp_path, kind):
    found = by_kind(train(tmp_path, kind, "schedule_to_0"))
    frozen = found["frozen_parameters"]
    assert "learning rate has been 0 since step 20" in frozen["message"]
    assert "a schedule that reached 0" in frozen["message"] and "floor" in frozen["fix"]
    if "loss_not_decreasing" in found:
        assert found["loss_not_decreasing"]["severity"] == "info"


@pytest.mark.parametrize("kind", ["mlp", "gru"])
def test_an_optimizer_without_the_models_parameters_explains_the_loss(tmp_path, kind):
    found = by_kind(train(tmp_path, kind, "other_params"))
    assert found["frozen_parameters"]["severity"] == "error"
    loss = found["loss_not_decreasing"]
    assert loss["severity"] == "info" and "consequence of frozen_parameters" in loss["message"]
    assert "learning rate" not in loss["fix"]


@pytest.mark.parametrize(("kind", "setup"), [("mlp", "ok"), ("gru", "schedule_with_floor")])
def test_the_twins_that_train_say_nothing_of_either(tmp_path, kind, setup):
    kinds = {d["kind"] for d in train(tmp_path, kind, setup) if d["severity"] != "info"}
    assert not kinds & {"frozen_parameters", "loss_not_decreasing"}, kinds
