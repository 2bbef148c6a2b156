"""Events survive the trip through JSON Lines, non-finite numbers included."""

import dataclasses
import json
import math
from pathlib import Path

import pytest

from gradtui.events import (
    Diagnosis,
    Evidence,
    GraphIssue,
    LayerInfo,
    RunFailed,
    RunFinished,
    RunStarted,
    StepStats,
    event_from_dict,
    event_to_dict,
)
from gradtui.recording import Recorder, RecordingError, read_recording
from gradtui.recording.codec import event_to_json

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
        ("hello\n", "line 1"),
        ("\n\n", "not a gradtui recording"),
    ],
)
def test_a_bad_recording_is_one_line_naming_file_and_line(tmp_path: Path, text, expected):
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(RecordingError) as info:
        read_recording(path)
    assert expected in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


def _write_lines(path: Path, *lines: str) -> None:
    with Recorder(path) as record:
        record(STARTED)
    path.write_text(path.read_text() + "".join(line + "\n" for line in lines))


def _step_line(index: int, **changes) -> str:
    data = json.loads(event_to_json(dataclasses.replace(STEP, step=index)))
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"loss": "low"}, "loss: expected a number"),
        ({"grad_norm": [1.0]}, "grad_norm: expected 2 values, got 1"),
        ({"nonfinite": [0, True]}, "nonfinite[1]: expected an integer"),
        ({"step": 2**70}, "step: "),
        ({"grad_zero_frac": [0.5, 7.0]}, "grad_zero_frac[1]: expected a fraction"),
        ({"nonfinite_source": 3}, "nonfinite_source: expected a string"),
    ],
)
def test_a_bad_step_is_skipped_with_one_warning_and_the_rest_is_kept(tmp_path, bad, field):
    path = tmp_path / "run.jsonl"
    _write_lines(path, _step_line(0), _step_line(1, **bad), _step_line(2))
    loaded = read_recording(path)
    assert [e.step for e in loaded.events[1:]] == [0, 2]
    (warning,) = loaded.warnings
    assert f"{path}: line 4: not a valid event ({field}" in warning


def test_an_unknown_event_type_is_skipped_once_not_fatal(tmp_path: Path):
    path = tmp_path / "newer.jsonl"
    future = json.dumps({"type": "gpu_memory", "step": 0, "bytes": 12})
    _write_lines(path, _step_line(0), future, future, _step_line(1))
    loaded = read_recording(path)
    assert [e.type for e in loaded.events] == ["run_started", "step", "step"]
    (warning,) = loaded.warnings
    assert "unknown event type 'gpu_memory'" in warning and "line 4" in warning


def test_a_severity_outside_the_set_is_skipped(tmp_path: Path):
    path = tmp_path / "sev.jsonl"
    found = json.loads(event_to_json(EVENTS[2]))
    _write_lines(path, json.dumps({**found, "severity": "fatal"}), json.dumps(found))
    loaded = read_recording(path)
    assert [e.type for e in loaded.events] == ["run_started", "diagnosis"]
    assert "severity: expected one of error, warning, info" in loaded.warning


def test_out_of_order_and_duplicated_steps_are_reported(tmp_path: Path):
    path = tmp_path / "order.jsonl"
    _write_lines(path, _step_line(0), _step_line(1), _step_line(1), _step_line(0), _step_line(2))
    loaded = read_recording(path)
    assert [e.step for e in loaded.events[1:]] == [0, 1, 2]
    assert "step 1 after step 1 (duplicated)" in loaded.warnings[0]
    assert "step 0 after step 1 (out of order)" in loaded.warnings[1]


def test_invalid_utf8_and_nuls_do_not_stop_the_reader(tmp_path: Path):
    path = tmp_path / "bytes.jsonl"
    _write_lines(path, _step_line(0))
    with path.open("ab") as file:
        file.write(b'{"type":"step","step":\xff}\n')
        file.write(b"\x00" * 30 + _step_line(1).encode() + b"\n")
    loaded = read_recording(path)
    assert [e.step for e in loaded.events[1:]] == [0, 1]
    assert "line 4: not UTF-8" in loaded.warning


def test_a_file_truncated_while_written_starts_with_nuls_and_still_reads(tmp_path: Path):
    path = tmp_path / "truncated.jsonl"
    path.write_bytes(b"\x00" * 4000 + (_step_line(5) + "\n" + _step_line(6) + "\n").encode())
    loaded = read_recording(path)
    assert loaded.events == []  # no run_started: its steps cannot be checked, so skipped
    assert "no header" in loaded.warnings[0]


def test_warnings_are_capped_with_one_summary_line(tmp_path: Path):
    path = tmp_path / "many.jsonl"
    _write_lines(path, *["{}"] * 50, _step_line(0))
    loaded = read_recording(path)
    assert len(loaded.events) == 2
    assert len(loaded.warnings) == 11
    assert loaded.warnings[-1].endswith("40 more problem line(s) not shown")


def test_control_characters_in_a_bad_line_never_reach_a_warning(tmp_path: Path):
    path = tmp_path / "evil\x1b]52;c;aGk=\x07.jsonl"
    _write_lines(path, json.dumps({"type": "\x1b[2J\x9b31m"}))
    (warning,) = read_recording(path).warnings
    assert "\x1b" not in warning and "\x9b" not in warning and "\x07" not in warning
    assert "\\x1b[2J" in warning


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


def test_a_compact_step_keeps_its_graph_issues(tmp_path: Path):
    """The compact step encoding (gradtui.watch's) writes the step-0 lint's findings too."""
    issue = GraphIssue("log_of_softmax", ("SoftmaxBackward0", "LogBackward0"))
    unreached = GraphIssue("unreached", (), ("head.weight",))
    step = dataclasses.replace(STEP, graph_issues=(issue, unreached))
    path = tmp_path / "lint.jsonl"
    with Recorder(path, layer_digits=4) as recorder:
        recorder(STARTED)
        recorder(step)
    loaded = read_recording(path)
    assert not loaded.warnings and loaded.events[1].graph_issues == (issue, unreached)


def test_every_field_of_every_event_survives_the_schema(tmp_path: Path):
    """Each field set away from its default comes back from the file: a field added to an
    event but not to the reader's schema would be dropped without a word."""
    started = dataclasses.replace(
        STARTED,
        activation="relu",
        source="watch",
        batch=8,
        init="kaiming",
        optimizer="sgd",
        model="Net",
        rank=1,
        world_size=2,
        not_in_optimizer=("head.bias",),
        unregistered=("scale",),
        added_after_watch=("extra",),
        param_dtype="float16",
        weight_decay=0.01,
        eps=1e-8,
    )
    step = dataclasses.replace(
        STEP,
        loss=0.5,
        grad_norm_total=1.0,
        weight_norm=(1.0, 2.0),
        grad_norm_clipped=0.5,
        carried_grad_norm=0.25,
        dead_frac=(0.5, 0.0),
        saturated_frac=(0.0, 0.25),
        graph_issues=(GraphIssue("unreached", ("AddBackward0",), ("head.weight",)),),
        lr=0.001,
        nonfinite_local=(0, 1),
        outside_seconds=0.004,
    )
    events = [
        started,
        step,
        Diagnosis(
            "nonfinite", "error", 0, ("head",), "m", "w", "f", (Evidence("lr", 0.5, ("a",)),)
        ),
        RunFailed(1, "RuntimeError", "boom", "models.py:1 in f: x"),
        RunFinished(1, stopped=True, reason="nonfinite"),
    ]
    for event in events:
        changed = [f.name for f in dataclasses.fields(event) if f.default is dataclasses.MISSING]
        changed += [
            f.name
            for f in dataclasses.fields(event)
            if f.default is not dataclasses.MISSING and getattr(event, f.name) != f.default
        ]
        assert len(changed) == len(dataclasses.fields(event)), (type(event).__name__, changed)
    path = tmp_path / "all.jsonl"
    with Recorder(path) as recorder:
        for event in events:
            recorder(event)
    assert read_recording(path).events == events


def test_why_the_trainer_ended_a_run_is_read_back(tmp_path):
    from gradtui.events import RunFinished
    from gradtui.recording import Recorder, read_recording

    path = tmp_path / "diverged.jsonl"
    with Recorder(path) as recorder:
        recorder(RunFinished(steps_run=25, stopped=False, reason="nonfinite"))
    assert read_recording(path).events[-1].reason == "nonfinite"
    path.write_text(path.read_text().replace('"nonfinite"', '"[red]x"'))
    assert "reason" in str(read_recording(path).warnings or read_recording(path).warning)
