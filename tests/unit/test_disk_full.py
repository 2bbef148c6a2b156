"""A disk that is full from the start: one line naming the file, exit 2; ``watch()`` lets the
training go on unwatched. And a file another process records to is said to be taken."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import pytest
import torch
from torch import nn

import gradtui
from gradtui.cli import main
from gradtui.recording import Recorder, RecordingError
from gradtui.recording import writer as writer_module
from gradtui.recording.target import open_target

RUN = ["run", "tiny_overfit", "--steps", "3", "--json"]


class FullFile:
    """A line-buffered text file on a disk with no room: every write that reaches it fails."""

    def __init__(self, path: Path) -> None:
        self._real = open_target(path, force=True)
        self.line_buffering = True

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fileno(self) -> int:
        return self._real.fileno()

    def flush(self) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def close(self) -> None:
        self._real.close()


@pytest.fixture
def full_disk(monkeypatch):
    monkeypatch.setattr(writer_module, "open_target", lambda path, force=False: FullFile(path))


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_recorder_on_a_full_disk_is_one_recording_error(tmp_path: Path, full_disk):
    path = tmp_path / "run.jsonl"
    with pytest.raises(RecordingError) as caught:
        Recorder(path)
    text = str(caught.value)
    assert str(path) in text and "No space left on device" in text and "\n" not in text


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_dev_full_as_the_recording_file_gives_the_same_line(tmp_path: Path, monkeypatch):
    def on_dev_full(path, force=False):
        return open("/dev/full", "w", encoding="utf-8", buffering=1)

    monkeypatch.setattr(writer_module, "open_target", on_dev_full)
    with pytest.raises(RecordingError, match="No space left on device"):
        Recorder(tmp_path / "run.jsonl")


def test_run_record_on_a_full_disk_exits_2_with_one_line(tmp_path: Path, capsys, full_disk):
    path = tmp_path / "run.jsonl"
    assert main([*RUN, "--record", str(path)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(path) in line and "No space left on device" in line


def test_launch_record_on_a_full_disk_exits_2_before_the_screen(tmp_path: Path, capsys, full_disk):
    path = tmp_path / "run.jsonl"
    assert main(["launch", "tiny_overfit", "--record", str(path)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(path) in line and "No space left on device" in line


def _train(monitor, model, opt, steps: int = 3) -> int:
    done = 0
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(torch.randn(4, 3)), torch.zeros(4, 2))
        loss.backward()
        monitor.step(loss)
        opt.step()
        done += 1
    return done


def _watch_warning(path: Path, caplog, **extra) -> str:
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.weight.detach().clone()
    with (
        caplog.at_level(logging.WARNING, logger="gradtui.watch"),
        gradtui.watch(model, opt, record=path, **extra) as monitor,
    ):
        assert _train(monitor, model, opt) == 3
    assert not torch.equal(before, model.weight)  # trained all the same
    (record,) = [r for r in caplog.records if r.name == "gradtui.watch"]
    assert record.exc_info is None and "internal error" not in record.getMessage()
    return record.getMessage()


def test_watch_on_a_full_disk_trains_on_unwatched(tmp_path: Path, caplog, full_disk):
    path = tmp_path / "run.jsonl"
    text = _watch_warning(path, caplog)
    assert str(path) in text and "No space left on device" in text and "unwatched" in text


def test_watch_on_a_file_another_process_records_to_says_it_is_taken(tmp_path: Path, caplog):
    path = tmp_path / "run.jsonl"
    with Recorder(path):  # flock is per open file: a second open is refused as another's
        text = _watch_warning(path, caplog)
    assert "another process is recording" in text and str(path) in text
