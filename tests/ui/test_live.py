"""The real worker process: quitting mid-run, pause/step/restart, and a training failure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gradtui.scenario.spec import discover, resolve
from gradtui.ui.app import GradApp
from gradtui.ui.screens.dashboard import DashboardScreen
from gradtui.ui.screens.help import HelpScreen
from gradtui.ui.widgets.diagnoses import DiagnosisList
from gradtui.ui.widgets.header import RunHeader
from tests.ui.conftest import wait_for

pytestmark = pytest.mark.slow
SIZE = (120, 40)
STARTUP = 90.0  # the worker imports torch first: seconds on a busy machine
QUIT_WAIT = 30.0  # generous: a wait, not a measurement (benchmarks/ measures)


def live_app(name: str, speed: float | None) -> GradApp:
    return GradApp(catalog=discover(), start=[resolve(name)], speed=speed)


async def test_quit_mid_run_stops_the_worker() -> None:
    app = live_app("sigmoid_deep", speed=10)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        process = screen.feed.source.process
        await wait_for(pilot, lambda: screen.feed.history.steps_seen >= 3, STARTUP)
        assert process.is_alive()
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code == 0, timeout=QUIT_WAIT)
    assert not process.is_alive()
    assert process.exitcode == 0  # it left on its own, at the next step


async def test_quit_while_the_worker_is_still_starting() -> None:
    app = live_app("relu_deep", speed=None)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        process = app.screen.feed.source.process
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code == 0, timeout=QUIT_WAIT)
    assert not process.is_alive()


async def test_pause_step_restart_on_a_live_run() -> None:
    app = live_app("sigmoid_deep", speed=10)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        pid = screen.feed.source.process.pid
        await wait_for(pilot, lambda: screen.feed.history.steps_seen >= 2, STARTUP)
        await pilot.press("space")
        await pilot.pause(0.3)  # a batch already on its way may still land
        seen = screen.feed.history.steps_seen
        await pilot.pause(0.5)
        assert screen.feed.history.steps_seen == seen
        await pilot.press("n")
        await wait_for(pilot, lambda: screen.feed.history.steps_seen == seen + 1, 10)
        await pilot.pause(0.3)
        assert screen.feed.history.steps_seen == seen + 1
        await pilot.press("r")
        assert screen.feed.history.steps_seen == 0
        await pilot.press("space")
        await wait_for(pilot, lambda: screen.feed.history.steps_seen >= 2, 30)
        assert screen.feed.source.process.pid == pid  # restarted in the same worker


async def test_a_training_failure_is_shown_not_fatal() -> None:
    app = live_app("inplace_op", speed=None)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.feed.history.state == "failed", STARTUP)
        await pilot.pause(0.2)
        assert "failed" in screen.query_one(RunHeader).render().plain
        shown = str(screen.query_one(DiagnosisList).render())
        assert "autograd error" in shown and "changed in place" in shown
        assert screen.feed.source.alive  # the worker waits for a restart
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)


async def test_a_worker_that_dies_is_reported_as_a_failed_run() -> None:
    app = live_app("sigmoid_deep", speed=5)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.feed.history.steps_seen >= 1, STARTUP)
        os.kill(screen.feed.source.process.pid, signal.SIGKILL)
        await wait_for(pilot, lambda: screen.feed.history.state == "failed", 5)
        shown = str(screen.query_one(DiagnosisList).render())
        assert "worker died" in shown and "autograd error" not in shown
        dead = screen.feed.source.process.pid
        await pilot.press("r")  # a fresh worker, not a hang at "starting"
        await wait_for(pilot, lambda: screen.feed.history.steps_seen >= 1, STARTUP)
        assert screen.feed.source.alive and screen.feed.source.process.pid != dead
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code == 0, timeout=QUIT_WAIT)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a pseudo-terminal")
def test_the_real_command_quits_without_output() -> None:
    """`gradtui launch NAME` in a terminal, then q: back at the shell, no traceback, no worker."""
    import pty
    import select

    gradtui = Path(sys.executable).with_name("gradtui")
    pid, fd = pty.fork()
    if pid == 0:  # the child: become the command
        os.environ.update(TERM="xterm-256color", COLUMNS="120", LINES="40")
        os.execv(str(gradtui), [str(gradtui), "launch", "sigmoid_deep"])
    output = b""

    def read(seconds: float) -> None:
        nonlocal output
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if select.select([fd], [], [], 0.05)[0]:
                try:
                    output += os.read(fd, 65536)
                except OSError:
                    return

    read(8.0)  # the picker, then the dashboard and the worker starting
    workers = [child for child in _children(pid) if "spawn_main" in _cmdline(child)]
    assert workers, "no worker process was started"
    os.write(fd, b"q")
    deadline = time.monotonic() + QUIT_WAIT
    while not os.waitpid(pid, os.WNOHANG)[0]:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"still running {QUIT_WAIT:g} s after q")
        read(0.02)
    text = output.decode(errors="replace")
    after_exit = text.split("\x1b[?1049l")[-1]  # what was printed once the screen closed
    assert "Traceback" not in text and "Error" not in after_exit and "Warning" not in after_exit
    assert not any(Path(f"/proc/{worker}").exists() for worker in workers)


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in found.stdout.split()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""
