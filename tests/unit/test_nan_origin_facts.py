"""The run facts the non-finite rules read: parameters' dtype, eps, weight decay, lr per step."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import gradtui
from gradtui.events import RunStarted, StepStats, event_from_dict, event_to_dict
from gradtui.probe.settings import optimizer_setting, param_dtype
from gradtui.recording import Recorder, read_recording
from gradtui.recording.schema import BadEvent, checked_event
from gradtui.scenario.loop import run
from gradtui.scenario.spec import resolve

STARTED = RunStarted("s", "t", "", {}, (), (), 0, 1)


def _watched_events(model: nn.Module, opt: torch.optim.Optimizer, steps: int = 3, sched=None):
    events: list = []
    with gradtui.watch(model, opt, on_event=events.append) as monitor:
        for _ in range(steps):
            x = torch.randn(4, 3, dtype=next(model.parameters()).dtype)
            opt.zero_grad()
            loss = model(x).float().pow(2).mean()
            loss.backward()
            monitor.step(loss)
            opt.step()
            if sched is not None:
                sched.step()
    return events


def test_watch_records_dtype_eps_weight_decay_and_the_lr_of_each_step():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = torch.optim.AdamW(model.parameters(), lr=0.1, eps=1e-6, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: max(0.0, 1.0 - step / 2))
    events = _watched_events(model, opt, steps=4, sched=sched)
    started = next(e for e in events if isinstance(e, RunStarted))
    assert (started.param_dtype, started.eps, started.weight_decay) == ("float32", 1e-6, 0.05)
    rates = [e.lr for e in events if isinstance(e, StepStats)]
    assert rates[:3] == pytest.approx([0.1, 0.05, 0.0])  # the schedule reaching 0 shows


def test_float16_weights_and_sgd_without_eps():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1)).half()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    started = next(e for e in _watched_events(model, opt, 1) if isinstance(e, RunStarted))
    assert (started.param_dtype, started.eps, started.weight_decay) == ("float16", None, 0.0)


def test_dtype_of_several_kinds_is_mixed_and_frozen_ones_do_not_count():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2).to(torch.bfloat16)
    assert param_dtype([*a.parameters(), *b.parameters()]) == "mixed"
    b.requires_grad_(False)
    assert param_dtype([*a.parameters(), *b.parameters()]) == "float32"
    assert param_dtype([]) == ""


def test_a_tensor_setting_is_read_and_a_strange_one_is_left_unknown():
    opt = torch.optim.Adam(nn.Linear(2, 2).parameters(), lr=torch.tensor(0.01))
    assert optimizer_setting(opt, "lr") == pytest.approx(0.01)
    opt.param_groups[0]["eps"] = "tiny"
    assert optimizer_setting(opt, "eps") is None
    assert optimizer_setting(None, "lr") is None


@pytest.mark.slow
def test_the_scenario_trainer_records_them_too():
    events: list = []
    spec = resolve("tiny_overfit")
    run(
        spec.model_copy(update={"train": spec.train.model_copy(update={"steps": 3})}), events.append
    )
    started = events[0]
    assert started.param_dtype == "float32"
    steps = [e for e in events if isinstance(e, StepStats)]
    assert steps and all(s.lr is not None and s.lr > 0 for s in steps)


def test_facts_survive_a_file_round_trip_and_old_recordings_still_read(tmp_path: Path):
    started = RunStarted("s", "t", "", {}, (), (), 0, 1, param_dtype="float16", eps=1e-8)
    step = StepStats(0, 1.0, 1.0, None, (), (), (), (), None, lr=0.0)
    path = tmp_path / "run.jsonl"
    with Recorder(path) as record:
        record(started)
        record(step)
    loaded = read_recording(path).events
    assert loaded[0] == started and loaded[1] == step
    assert event_from_dict(event_to_dict(started)) == started
    old = {k: v for k, v in event_to_dict(started).items() if k not in ("param_dtype", "eps")}
    old_step = {k: v for k, v in event_to_dict(step).items() if k != "lr"}
    path.write_text(json.dumps(old) + "\n" + json.dumps(old_step) + "\n")
    loaded = read_recording(path).events
    assert (loaded[0].param_dtype, loaded[0].eps, loaded[1].lr) == ("", None, None)


@pytest.mark.parametrize(
    ("key", "value"),
    [("eps", "small"), ("eps", -1.0), ("weight_decay", "Infinity"), ("param_dtype", 16)],
)
def test_a_bad_fact_is_named(key: str, value: object):
    data = {**json.loads(json.dumps(event_to_dict(STARTED))), key: value}
    with pytest.raises(BadEvent, match=key):
        checked_event(data, None)


@given(st.one_of(st.none(), st.floats(allow_nan=True), st.text(max_size=5), st.integers()))
def test_any_decoded_lr_is_read_or_refused(value: object):
    step = StepStats(0, 1.0, 1.0, None, (), (), (), (), None)
    data = {**json.loads(json.dumps(event_to_dict(step))), "lr": value}
    try:
        lr = checked_event(data, STARTED).lr
    except BadEvent as exc:
        assert str(exc).startswith("lr:")
    else:
        assert lr is None or (math.isfinite(lr) and lr >= 0)
