"""A recording cut while it is written (``: > run.jsonl``, log rotation) still reads: the
writer notices and heads the rest again, readers and followers say what is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import gradtui
from gradtui.events import LayerInfo, RunFinished, RunStarted, StepStats
from gradtui.recording import Recorder, RecordingError, read_recording
from gradtui.recording.codec import event_to_json
from gradtui.recording.follow import Follower
from gradtui.recording.reader import read_run


def started(name: str = "x") -> RunStarted:
    return RunStarted(
        scenario=name,
        title=name,
        lesson="",
        spec={},
        layers=(LayerInfo("fc", "Linear", 0, 10),),
        blocks=("fc",),
        total_steps=0,
        heavy_every=4,
    )


def step(i: int) -> StepStats:
    return StepStats(i, 1.0, 1.0, None, (1.0,), (0,), (2.0,), (1e-3,), (0.5,))


def steps_of(events: list) -> list[int]:
    return [e.step for e in events if isinstance(e, StepStats)]


def test_a_file_emptied_under_its_writer_reads_from_the_cut_on(tmp_path: Path):
    path = tmp_path / "run.jsonl"
    told: list[str] = []
    recorder = Recorder(path)
    recorder.warn = told.append
    recorder(started())
    for i in range(5):
        recorder(step(i))
    os.truncate(path, 0)  # what `: > run.jsonl` does
    for i in range(5, 9):
        recorder(step(i))
    recorder(RunFinished(9))
    recorder.close()
    loaded = read_run(path)
    assert isinstance(loaded.events[0], RunStarted)
    assert steps_of(loaded.events) == [5, 6, 7, 8]
    assert isinstance(loaded.events[-1], RunFinished)
    (warning,) = loaded.warnings
    assert "cut at byte 0" in warning and "steps 0..4 are missing" in warning
    assert len(told) == 1 and "was cut to 0 bytes" in told[0]


def test_cut_twice_is_told_once_and_each_gap_is_named(tmp_path: Path):
    path = tmp_path / "run.jsonl"
    told: list[str] = []
    recorder = Recorder(path)
    recorder.warn = told.append
    recorder(started())
    for i in range(6):
        if i in (2, 4):
            os.truncate(path, 0)
        recorder(step(i))
    recorder.close()
    loaded = read_recording(path)
    assert steps_of(loaded.events) == [4, 5]
    assert "steps 0..3 are missing" in loaded.warnings[0]
    assert len(told) == 1


def test_a_cut_inside_a_line_costs_that_line_only(tmp_path: Path):
    path = tmp_path / "run.jsonl"
    recorder = Recorder(path)
    recorder.warn = lambda _text: None
    recorder(started())
    for i in range(3):
        recorder(step(i))
    keep = len(path.read_bytes().splitlines(keepends=True)[0]) + 30  # into run_started
    os.truncate(path, keep)
    recorder(step(3))
    recorder.close()
    loaded = read_run(path)
    assert steps_of(loaded.events) == [3]
    assert any("not a valid event" in w for w in loaded.warnings)
    assert any("steps 0..2 are missing" in w for w in loaded.warnings)


def test_a_headerless_file_reads_as_the_current_format(tmp_path: Path):
    path = tmp_path / "cut.jsonl"
    lines = [event_to_json(started()), event_to_json(step(7)), event_to_json(step(8))]
    path.write_text("\n".join(lines) + "\n")
    loaded = read_run(path)
    assert steps_of(loaded.events) == [7, 8]
    assert "no header" in loaded.warnings[0] and "missing" in loaded.warnings[0]


def test_a_file_that_is_not_a_recording_is_still_refused(tmp_path: Path):
    path = tmp_path / "notes.jsonl"
    path.write_text('{"name": "x"}\n')
    with pytest.raises(RecordingError, match=r"not a gradtui\.recording/2 header"):
        read_recording(path)


def test_following_goes_on_after_the_file_is_emptied(tmp_path: Path):
    path = tmp_path / "run.jsonl"
    recorder = Recorder(path)
    recorder.warn = lambda _text: None
    recorder(started())
    recorder(step(0))
    follower = Follower(path)
    assert len(follower.poll()) == 2
    os.truncate(path, 0)
    recorder(step(1))
    got = follower.poll()
    assert follower.restarted and [e.type for e in got] == ["run_started", "step"]
    recorder(step(2))
    recorder(RunFinished(3))
    assert steps_of(follower.poll()) == [2] and follower.finished
    assert any("steps 0..0 are missing" in w for w in follower.take_warnings())
    recorder.close()


def test_following_goes_on_when_the_file_is_replaced(tmp_path: Path):
    path = tmp_path / "run.jsonl"
    with Recorder(path) as first:
        first(started())
        first(step(0))
    follower = Follower(path)
    assert len(follower.poll()) == 2
    path.unlink()
    with Recorder(path) as second:  # the next run (the inode may be the same number)
        second(started("the next run"))
        second(step(0))
        second(step(1))
    assert steps_of(follower.poll()) == [0, 1] and follower.restarted


@settings(max_examples=60, deadline=None)
@given(
    before=st.integers(0, 6),
    after=st.integers(1, 6),
    keep_lines=st.integers(0, 8),
    into_line=st.integers(0, 40),
)
def test_any_cut_after_the_header_keeps_every_step_written_after_it(
    tmp_path_factory, before: int, after: int, keep_lines: int, into_line: int
):
    path = tmp_path_factory.mktemp("cut") / "run.jsonl"
    recorder = Recorder(path)
    recorder.warn = lambda _text: None
    recorder(started())
    for i in range(before):
        recorder(step(i))
    lines = path.read_bytes().splitlines(keepends=True)
    keep_lines = min(keep_lines, len(lines))
    size = sum(len(line) for line in lines[:keep_lines])
    if keep_lines < len(lines) and keep_lines > 0:
        size += min(into_line, len(lines[keep_lines]) - 1)
    cut = size < sum(len(line) for line in lines)
    os.truncate(path, size)
    for i in range(before, before + after):
        recorder(step(i))
    recorder.close()
    loaded = read_run(path)
    assert steps_of(loaded.events)[-after:] == list(range(before, before + after))
    assert any("cut" in w for w in loaded.warnings) == cut


@pytest.mark.slow
def test_watch_writer_process_resumes_after_the_file_is_emptied(tmp_path: Path, capfd):
    path = tmp_path / "run.jsonl"
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gradtui.watch(model, opt, record=path) as monitor:
        for i in range(12):
            if i == 6:
                monitor.flush()  # what was measured so far is in the file
                os.truncate(path, 0)
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(torch.randn(8, 4)), torch.zeros(8).long())
            loss.backward()
            monitor.step(loss)
            opt.step()
    assert monitor.writer == "process"
    loaded = read_run(path)
    kept = steps_of(loaded.events)
    assert kept == list(range(kept[0], 12))
    assert isinstance(loaded.events[-1], RunFinished)
    (warning,) = [w for w in loaded.warnings if "cut" in w]
    assert f"steps 0..{kept[0] - 1} are missing" in warning  # no more, no fewer
    assert capfd.readouterr().err.count("was cut to 0 bytes") == 1
