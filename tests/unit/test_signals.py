"""SIGINT, SIGTERM and SIGHUP close a recording with its end event, stopped: true.

Each test starts a real process that records, waits until the file holds a few steps, sends
the signal, and reads the file back: it must end with run_finished (stopped), read without a
warning, and hold every step up to the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gradtui.events import RunFinished, StepStats
from gradtui.recording import RecordingError, read_recording

pytestmark = pytest.mark.slow
SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
WAIT_S = 120.0

WATCHED = textwrap.dedent(
    """
    import sys
    import torch
    from torch import nn
    import gradtui

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    monitor = gradtui.watch(model, opt, record=sys.argv[1], diagnose=False)
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    for _ in range(10**8):
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        monitor.step(loss)
        opt.step()
    monitor.close()
    """
)


def steps_in(path: Path) -> int:
    try:
        return sum(isinstance(e, StepStats) for e in read_recording(path).events)
    except RecordingError:
        return 0


def signal_after_a_few_steps(
    command: list[str], path: Path, signum: int, to_group: bool = False
) -> int:
    """``to_group``: the signal goes to the process's whole group, as a terminal's Ctrl+C."""
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=to_group
    )
    try:
        deadline = time.monotonic() + WAIT_S
        while steps_in(path) < 3:
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            if time.monotonic() > deadline:  # a generous wait, not a speed check
                pytest.fail("no steps were written")
            time.sleep(0.1)
        if to_group:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
        return process.wait(WAIT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def assert_ended_and_complete(path: Path) -> None:
    loaded = read_recording(path)
    assert loaded.warnings == ()
    end = loaded.events[-1]
    assert isinstance(end, RunFinished) and end.stopped
    steps = [e.step for e in loaded.events if isinstance(e, StepStats)]
    assert steps == list(range(len(steps))) and len(steps) >= 3
    assert end.steps_run == len(steps)


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_to_run_record_writes_the_end_event(tmp_path: Path, signum: int):
    path = tmp_path / "run.jsonl"
    command = [sys.executable, "-m", "gradtui", "run", "relu_deep", "--steps", "1000000"]
    code = signal_after_a_few_steps([*command, "--record", str(path)], path, signum)
    assert code == 128 + signum
    assert_ended_and_complete(path)


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_to_a_watched_run_writes_the_end_event(tmp_path: Path, signum: int):
    path = tmp_path / "watched.jsonl"
    code = signal_after_a_few_steps([sys.executable, "-c", WATCHED, str(path)], path, signum)
    assert code != 0
    assert_ended_and_complete(path)


def test_a_ctrl_c_to_the_whole_group_still_ends_the_recording(tmp_path: Path):
    """Ctrl+C reaches every process in the terminal's group; the writer process, in a session
    of its own, goes on writing until the watched run has closed its recording."""
    path = tmp_path / "group.jsonl"
    command = [sys.executable, "-c", WATCHED, str(path)]
    assert signal_after_a_few_steps(command, path, signal.SIGINT, to_group=True) != 0
    assert_ended_and_complete(path)


def test_a_user_handler_installed_first_still_decides(tmp_path: Path):
    """The user's SIGTERM handler runs (here it ignores the signal), and the run goes on."""
    script = "import signal\nsignal.signal(signal.SIGTERM, lambda *a: None)\n" + WATCHED
    path = tmp_path / "own.jsonl"
    process = subprocess.Popen([sys.executable, "-c", script, str(path)])
    try:
        deadline = time.monotonic() + WAIT_S
        while steps_in(path) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        before = steps_in(path)
        process.send_signal(signal.SIGTERM)
        while steps_in(path) < before + 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process.poll() is None and steps_in(path) >= before + 3
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
