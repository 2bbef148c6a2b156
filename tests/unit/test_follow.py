"""Following a recording as it grows, and reading one that was cut off."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gradtui.events import LayerInfo, RunFinished, RunStarted, StepStats
from gradtui.recording import Recorder, RecordingError, read_recording
from gradtui.recording.codec import event_to_json
from gradtui.recording.follow import Follower


def started() -> RunStarted:
    return RunStarted(
        scenario="x",
        title="x",
        lesson="",
        spec={},
        layers=(LayerInfo("fc", "Linear", 0, 10),),
        blocks=("fc",),
        total_steps=0,
        heavy_every=4,
    )


def step(i: int, loss: float = 1.0) -> StepStats:
    return StepStats(i, loss, 1.0, None, (1.0,), (0,), (2.0,), (1e-3,), (0.5,))


def test_events_arrive_as_lines_complete(tmp_path: Path):
    path = tmp_path / "run.jsonl"
    follower = Follower(path)
    assert follower.poll() == []  # not there yet: wait, no error
    recorder = Recorder(path)
    recorder(started())
    assert [e.type for e in follower.poll()] == ["run_started"]
    line = event_to_json(step(0))
    recorder._file.write(line[:10])  # half a line: nothing yet
    recorder._file.flush()
    assert follower.poll() == [] and follower.incomplete_tail
    recorder._file.write(line[10:] + "\n")
    assert follower.poll() == [step(0)]
    assert not follower.finished
    recorder(step(1))
    recorder(RunFinished(steps_run=2))
    assert [e.type for e in follower.poll()] == ["step", "run_finished"]
    assert follower.finished
    recorder.close()


def test_a_file_started_afresh_is_followed_from_its_start(tmp_path: Path):
    path = tmp_path / "run.jsonl"
    with Recorder(path) as recorder:
        recorder(started())
        for i in range(5):
            recorder(step(i))
    follower = Follower(path)
    assert len(follower.poll()) == 6
    with Recorder(path) as recorder:  # a new run, same file
        recorder(started())
    assert [e.type for e in follower.poll()] == ["run_started"]
    assert follower.restarted


def test_not_a_recording_is_one_clear_error(tmp_path: Path):
    path = tmp_path / "notes.jsonl"
    path.write_text("hello\n")
    with pytest.raises(RecordingError, match=r"notes\.jsonl: line 1"):
        Follower(path).poll()


WRITER = """
import sys, time
from pathlib import Path
from gradtui.events import LayerInfo, RunFinished, RunStarted, StepStats
from gradtui.recording import Recorder
path = Path(sys.argv[1])
with Recorder(path) as rec:
    rec(RunStarted("x", "x", "", {}, (LayerInfo("fc", "Linear", 0, 10),), ("fc",), 0, 4))
    for i in range(6):
        time.sleep(0.05)
        rec(StepStats(i, 1.0, 1.0, None, (1.0,), (0,), (2.0,), (1e-3,), (0.5,)))
    rec(RunFinished(steps_run=6))
"""


def follow_until_finished(path: Path, timeout_s: float = 60) -> list:
    follower = Follower(path)
    events = []
    waited = 0.0
    while not follower.finished and waited < timeout_s:
        events += follower.poll()
        time.sleep(0.02)
        waited += 0.02
    return events


def test_follow_reads_another_process_until_it_finishes(tmp_path: Path):
    path = tmp_path / "live.jsonl"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
    try:
        events = follow_until_finished(path)
    finally:
        writer.wait(30)
    assert [e.type for e in events] == ["run_started"] + ["step"] * 6 + ["run_finished"]


KILLED = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from gradtui.events import LayerInfo, RunStarted, StepStats
    from gradtui.recording import Recorder
    from gradtui.recording.codec import event_to_json
    rec = Recorder(Path(sys.argv[1]))
    rec(RunStarted("x", "x", "", {}, (LayerInfo("fc", "Linear", 0, 10),), ("fc",), 0, 4))
    rec(StepStats(0, 1.0, 1.0, None, (1.0,), (0,), (2.0,), (1e-3,), (0.5,)))
    line = event_to_json(StepStats(1, 1.0, 1.0, None, (1.0,), (0,), (2.0,), (1e-3,), (0.5,)))
    rec._file.write(line[: len(line) // 2])
    rec._file.flush()
    os._exit(9)  # killed mid-line
    """
)


def test_a_recording_cut_off_mid_line_loads_to_its_last_complete_event(tmp_path: Path):
    path = tmp_path / "cut.jsonl"
    subprocess.run([sys.executable, "-c", KILLED, str(path)], check=False)
    loaded = read_recording(path)
    assert [e.type for e in loaded.events] == ["run_started", "step"]
    assert loaded.warning and "incomplete" in loaded.warning
    follower = Follower(path)
    assert [e.type for e in follower.poll()] == ["run_started", "step"]
    assert follower.incomplete_tail and not follower.finished


def test_a_file_truncated_while_followed_is_read_again_without_a_crash(tmp_path: Path):
    path = tmp_path / "run.jsonl"
    recorder = Recorder(path)
    recorder(started())
    for i in range(4):
        recorder(step(i))
    follower = Follower(path)
    assert len(follower.poll()) == 5
    with path.open("r+b") as file:  # cut mid-way through the file, as `truncate -s` does
        file.truncate(40)
    assert follower.poll() == [] and follower.restarted  # the header, part of a line
    recorder(step(4))  # the writer notices, heads the rest again and goes on
    recorder.close()
    got = follower.poll()
    assert [e.type for e in got] == ["run_started", "step"] and not follower.restarted
    bad, cut = follower.take_warnings()  # the line cut in the middle is the one lost
    assert "line 2: not a valid event" in bad and "steps 0..3 are missing" in cut


def test_a_deleted_file_is_said_so(tmp_path: Path):
    path = tmp_path / "run.jsonl"
    with Recorder(path) as recorder:
        recorder(started())
    follower = Follower(path)
    assert len(follower.poll()) == 1 and not follower.deleted
    path.unlink()
    assert follower.poll() == [] and follower.deleted


def test_bad_lines_while_following_are_warnings_not_errors(tmp_path: Path):
    path = tmp_path / "run.jsonl"
    recorder = Recorder(path)
    recorder(started())
    recorder._file.write('{"type":"step","step":"zero"}\n')
    recorder(step(0))
    recorder.close()
    follower = Follower(path)
    assert [e.type for e in follower.poll()] == ["run_started", "step"]
    (warning,) = follower.take_warnings()
    assert "line 3" in warning and "step: expected an integer" in warning
    assert follower.take_warnings() == []


def test_a_fifo_is_refused_without_hanging(tmp_path: Path):
    import os

    path = tmp_path / "pipe.jsonl"
    os.mkfifo(path)
    with pytest.raises(RecordingError, match="a FIFO"):
        read_recording(path)
    with pytest.raises(RecordingError, match="not a regular file"):
        Follower(path).poll()
