"""The writer process of ``watch()`` stopped from outside: SIGINT exits it quietly, and a
writer that dies still leaves a recording that says how the run ended."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import torch
from torch import nn

import gradtui
from gradtui.events import RunFinished, StepStats
from gradtui.recording.reader import read_run
from gradtui.report.recorded import report_files


def _step(monitor, model, opt) -> None:
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(torch.randn(4, 3)), torch.zeros(4, 2))
    loss.backward()
    monitor.step(loss)
    opt.step()


def _train_and_signal(path: Path, signum: int) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gradtui.watch(model, opt, record=path) as monitor:
        assert monitor.writer == "process"
        for _ in range(4):
            _step(monitor, model, opt)
        monitor.flush()
        process = monitor._worker._process
        os.kill(process.pid, signum)
        process.wait(30)
        for _ in range(4):  # the training goes on
            _step(monitor, model, opt)
        time.sleep(0.2)  # let the sender find the pipe closed


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL])
def test_a_writer_process_stopped_from_outside_leaves_an_ended_recording(
    tmp_path: Path, capfd, signum: int
):
    path = tmp_path / "run.jsonl"
    _train_and_signal(path, signum)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    loaded = read_run(path)
    steps = [e.step for e in loaded.events if isinstance(e, StepStats)]
    assert steps[:3] == [0, 1, 2]
    assert isinstance(loaded.events[-1], RunFinished)  # written by the watching side
    assert not any("no end event" in w for w in report_files([path]).warnings)


@pytest.mark.slow
def test_a_recording_with_no_end_says_its_writer_may_have_died(tmp_path: Path):
    path = tmp_path / "run.jsonl"
    _train_and_signal(path, signal.SIGKILL)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line for line in lines if '"run_finished"' not in line) + "\n")
    (warning,) = [w for w in report_files([path]).warnings if "no end event" in w]
    assert "writer died" in warning
