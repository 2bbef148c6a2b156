"""Events survive the trip through JSON Lines, non-finite numbers included."""

import dataclasses
import json
import math
from pathlib import Path

import pytest

from gradtui.events import (
    Diagnosis,
    LayerInfo,
    RunFailed,
    RunFinished,
    RunStarted,
    StepStats,
    event_from_dict,
    event_to_dict,
)
from gradtui.recording import Recorder, RecordingError, read_recording

STARTED = RunStarted(
    scenario="s",
    title="t",
    lesson="l",
    spec={"model": {"depth": 1}},
    layers=(LayerInfo("blocks.0.linear", "Linear", 0, 10), LayerInfo("head", "Linear", 1, 5)),
    blocks=("blocks.0", "head"),
    total_steps=3,
    heavy_every=1,
)
STEP = StepStats(
    step=0,
    loss=math.nan,
    grad_norm_total=math.inf,
    grad_norm_clipped=None,
    grad_norm=(None, 2.5),
    nonfinite=(0, 3),
    weight_norm=(1.0, -math.inf),
    update_ratio=(0.0, 0.1),
    block_grad_norm=(None, 1.0),
    grad_mean_abs=(None, 0.5),
    grad_max_abs=(None, 1.5),
    grad_zero_frac=(None, 0.0),
    nonfinite_source="loss",
)
EVENTS = [
    STARTED,
    STEP,
    Diagnosis("nonfinite", "error", 0, ("head",), "m", "w", "f"),
    RunFailed(1, "RuntimeError", "boom", "models.py:1 in f: x"),
    RunFinished(1),
]


def _same(a, b) -> bool:
    return json.dumps(event_to_dict(a), default=str) == json.dumps(event_to_dict(b), default=str)


def test_dict_round_trip_keeps_every_field():
    for event in EVENTS:
        assert _same(event_from_dict(event_to_dict(event)), event)


def test_file_round_trip_is_strict_json_and_keeps_nan_and_inf(tmp_path: Path):
    path = tmp_path / "run.jsonl"
    with Recorder(path) as record:
        for event in EVENTS:
            record(event)
    for line in path.read_text().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    loaded = read_recording(path)
    assert loaded.warning is None
    assert len(loaded.events) == len(EVENTS)
    step = loaded.events[1]
    assert math.isnan(step.loss) and step.grad_norm_total == math.inf
    assert step.weight_norm == (1.0, -math.inf)
    assert step.grad_norm == (None, 2.5)
    assert loaded.events[0].layers[1] == LayerInfo("head", "Linear", 1, 5)


def test_a_cut_off_last_line_loads_the_rest_with_a_warning(tmp_path: Path):
    path = tmp_path / "cut.jsonl"
    with Recorder(path) as record:
        for event in EVENTS[:2]:
            record(event)
    path.write_text(path.read_text() + '{"type": "step", "step": 1, "lo')
    loaded = read_recording(path)
    assert len(loaded.events) == 2
    assert "incomplete" in loaded.warning and str(path) in loaded.warning


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty file"),
        ('{"format": "other"}\n', "line 1"),
        ('{"format": "gradtui.recording/1"}\n{"type": "nope"}\n', "line 2"),
    ],
)
def test_a_bad_recording_is_one_line_naming_file_and_line(tmp_path: Path, text, expected):
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(RecordingError) as info:
        read_recording(path)
    assert expected in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_a_version_1_scenario_recording_loads_with_its_typed_fields_filled_in():
    loaded = read_recording(FIXTURES / "v1_scenario_relu_deep.jsonl")
    started = loaded.events[0]
    assert isinstance(started, RunStarted) and loaded.warning is None
    assert (started.source, started.batch, started.init, started.optimizer) == (
        "scenario",
        64,
        "kaiming",
        "sgd",
    )
    assert started.activation == "relu" and started.rank is None
    assert sum(isinstance(e, StepStats) for e in loaded.events) == 6


def test_a_version_1_watch_recording_loads_as_a_users_loop():
    started = read_recording(FIXTURES / "v1_watch_mlp.jsonl").events[0]
    assert isinstance(started, RunStarted)
    assert (started.source, started.model, started.rank, started.world_size) == (
        "watch",
        "Sequential",
        None,
        1,
    )
    assert started.batch is None and started.spec == {}


def test_a_new_recording_keeps_the_typed_fields(tmp_path: Path):
    started = dataclasses.replace(
        STARTED, source="watch", optimizer="adamw", model="GPT", rank=1, world_size=2
    )
    path = tmp_path / "typed.jsonl"
    with Recorder(path) as recorder:
        recorder(started)
    assert read_recording(path).events == [started]
