"""The real worker process: quitting mid-run, pause/step/restart, and a training failure."""

from __future__ import annotations

import time

import pytest

from gradtui.spec import discover, resolve
from gradtui.ui.app import GradApp
from gradtui.ui.screens.dashboard import DashboardScreen
from gradtui.ui.screens.help import HelpScreen
from gradtui.ui.widgets.diagnoses import DiagnosisList
from gradtui.ui.widgets.header import RunHeader
from tests.ui.conftest import wait_for

pytestmark = pytest.mark.slow
SIZE = (120, 40)
STARTUP = 90.0  # the worker imports torch first: seconds on a busy machine


def live_app(name: str, speed: float | None) -> GradApp:
    return GradApp(catalog=discover(), start=[resolve(name)], speed=speed)


async def test_quit_mid_run_stops_the_worker_within_a_second() -> None:
    app = live_app("sigmoid_deep", speed=10)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        process = screen.feed.source.process
        await wait_for(pilot, lambda: screen.feed.history.steps_seen >= 3, STARTUP)
        assert process.is_alive()
        started = time.monotonic()
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code == 0, timeout=1.0)
        assert time.monotonic() - started < 1.0
    assert not process.is_alive()
    assert process.exitcode == 0  # it left on its own, at the next step


async def test_quit_while_the_worker_is_still_starting() -> None:
    app = live_app("relu_deep", speed=None)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        process = app.screen.feed.source.process
        started = time.monotonic()
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code == 0, timeout=1.0)
        assert time.monotonic() - started < 1.0
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
        assert "RuntimeError" in shown or "autograd" in shown.lower()
        assert screen.feed.source.alive  # the worker waits for a restart
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
