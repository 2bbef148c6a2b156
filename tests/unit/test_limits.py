"""One set of integer limits for what writes a recording and what reads it: whatever a
scenario file or watch() accepts, report reads back; what the reader would refuse is refused
at the input, in one line naming the field."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from torch import nn

import gradtui
from gradtui.events import LayerInfo, RunStarted
from gradtui.recording import Recorder, RecordingError, read_recording
from gradtui.recording.limits import MAX_INT
from gradtui.recording.reader import read_run
from gradtui.scenario.spec import ScenarioError, TrainSpec, load_scenario

STARTED = RunStarted(
    scenario="s",
    title="t",
    lesson="l",
    spec={},
    layers=(LayerInfo("head", "Linear", 0, 5),),
    blocks=("head",),
    total_steps=3,
    heavy_every=1,
)
near_the_limit = st.one_of(
    st.integers(1, 1000), st.integers(MAX_INT - 3, MAX_INT + 3), st.integers(1, 2**70)
)


def accepted_by_a_scenario(every: int) -> bool:
    try:
        TrainSpec(heavy_every=every)
    except ValidationError:
        return False
    return True


def read_back(every: int, path: Path) -> bool:
    with Recorder(path) as record:
        record(dataclasses.replace(STARTED, heavy_every=every))
    events = read_recording(path).events
    return bool(events) and isinstance(events[0], RunStarted)


@given(near_the_limit)
@settings(max_examples=40, deadline=None)
def test_what_a_scenario_accepts_the_reader_reads(tmp_path_factory, every: int):
    path = tmp_path_factory.mktemp("limits") / "run.jsonl"
    assert accepted_by_a_scenario(every) == read_back(every, path)


def test_a_scenario_with_a_huge_heavy_every_is_one_line_naming_the_field(tmp_path: Path):
    path = tmp_path / "huge.toml"
    path.write_text(f'name = "huge"\ntitle = "t"\nlesson = "l"\n[train]\nheavy_every = {2**63}\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "train.heavy_every" in message and "\n" not in message


@pytest.mark.parametrize("argument", ["every", "total_steps"])
def test_watch_refuses_an_integer_no_recording_holds(argument: str):
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=argument):
        gradtui.watch(model, optimizer=opt, **{argument: 2**63})


def test_the_reader_names_the_field_past_the_limit(tmp_path: Path):
    path = tmp_path / "run.jsonl"
    read_back(MAX_INT, path)
    path.write_text(path.read_text().replace(str(MAX_INT), str(MAX_INT + 1)))
    loaded = read_recording(path)
    assert not loaded.events and "heavy_every" in " ".join(loaded.warnings)
    with pytest.raises(RecordingError, match="no run_started"):
        read_run(path)
