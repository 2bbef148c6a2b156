"""SIGTERM and SIGHUP close `gradtui launch --record` the way q and ctrl-c do.

The real command runs under a pseudo-terminal; once its recording holds a few steps it gets the
signal. It must leave the alternate screen, stop and reap its training process, print no
warning, exit with 128 + N, and leave a recording that ends with a stopped run_finished.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gradtui.events import RunFinished, StepStats
from gradtui.recording.parser import RecordingError
from gradtui.recording.reader import read_recording

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a pseudo-terminal"),
]
STARTUP_S = 120.0  # the worker imports torch first: long on a busy machine
EXIT_S = 20.0
LEAVE_ALT_SCREEN = b"\x1b[?1049l"


def steps_in(path: Path) -> int:
    try:
        return sum(isinstance(e, StepStats) for e in read_recording(path).events)
    except RecordingError:
        return 0


class Terminal:
    """A command under a pseudo-terminal, with everything it printed."""

    def __init__(self, command: list[str]) -> None:
        self.pid, self.fd = os.forkpty()
        if self.pid == 0:
            os.environ.update(TERM="xterm-256color", COLUMNS="120", LINES="40")
            os.execv(command[0], command)
        self.output = b""
        self.code: int | None = None  # the exit status, once reaped

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if select.select([self.fd], [], [], 0.05)[0]:
                try:
                    self.output += os.read(self.fd, 65536)
                except OSError:
                    return

    def wait(self, timeout_s: float) -> int | None:
        deadline = time.monotonic() + timeout_s
        while self.code is None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.code = os.waitstatus_to_exitcode(status)
            elif time.monotonic() > deadline:
                break
            else:
                self.read(0.05)
        return self.code


def children_of(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(child) for child in found.stdout.split()]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def all_gone(pids: list[int], timeout_s: float) -> bool:
    """True once none of pids runs (an orphan is reaped by init soon after it exits)."""
    deadline = time.monotonic() + timeout_s
    while any(cmdline(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name
)
def test_a_signal_closes_the_dashboard_and_ends_its_recording(
    tmp_path: Path, signum: signal.Signals
) -> None:
    path = tmp_path / "run.jsonl"
    command = [sys.executable, "-m", "gradtui", "launch", "relu_deep", "--steps", "1000000"]
    terminal = Terminal([*command, "--speed", "max", "--record", str(path)])
    try:
        deadline = time.monotonic() + STARTUP_S  # a generous wait for the worker, not a measure
        while steps_in(path) < 3 and time.monotonic() < deadline:
            terminal.read(0.2)
        assert steps_in(path) >= 3, terminal.output.decode(errors="replace")[-2000:]
        children = children_of(terminal.pid)  # the training process and multiprocessing's tracker
        assert any("spawn_main" in cmdline(child) for child in children), "no training process"
        os.kill(terminal.pid, signum)
        code = terminal.wait(EXIT_S)
        assert code is not None, f"still running {EXIT_S:g} s after {signum.name}"
        terminal.read(1.0)  # anything printed once the screen closed (a tracker's warning)
    finally:
        if terminal.wait(0) is None:
            os.kill(terminal.pid, signal.SIGKILL)
            os.waitpid(terminal.pid, 0)
        os.close(terminal.fd)
    if signum != signal.SIGINT:  # ctrl-c is a key to the dashboard, not a signal
        assert code == 128 + signum
    assert LEAVE_ALT_SCREEN in terminal.output
    after = terminal.output.split(LEAVE_ALT_SCREEN)[-1].decode(errors="replace")
    assert "Traceback" not in after and "Warning" not in after and "leaked" not in after
    assert all_gone(children, EXIT_S), [cmdline(child) for child in children]
    loaded = read_recording(path)
    assert loaded.warnings == ()
    end = loaded.events[-1]
    assert isinstance(end, RunFinished) and end.stopped
    assert end.steps_run == sum(isinstance(e, StepStats) for e in loaded.events) >= 3
