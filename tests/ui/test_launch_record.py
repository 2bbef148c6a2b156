"""`gradtui launch NAME --record FILE`: the live run is written down, and the file replays."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradtui.recording import Recorder, read_recording
from gradtui.scenario.spec import discover, resolve
from gradtui.ui.app import GradApp
from gradtui.ui.recorded_source import recording_first
from gradtui.ui.screens.dashboard import DashboardScreen
from tests.ui.conftest import wait_for

pytestmark = pytest.mark.slow
SIZE = (120, 40)
STARTUP = 120.0  # the worker imports torch first: long on a busy machine


async def test_launch_record_writes_a_recording_that_replays(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    spec = resolve("relu_deep").with_overrides(steps=6)
    app = GradApp(
        catalog=discover(), start=[spec], speed=None, make_source=recording_first(Recorder(path))
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.feed.history.ended, STARTUP)
        shown_steps = screen.feed.history.steps_seen
        await pilot.press("q")
    loaded = read_recording(path)
    assert loaded.warning is None
    assert [e.type for e in loaded.events] == ["run_started"] + ["step"] * 6 + ["run_finished"]
    assert shown_steps == 6

    replay = GradApp(catalog=discover(), replays=[loaded.events], speed=None, own_runs=True)
    async with replay.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(replay.screen, DashboardScreen))
        await wait_for(pilot, lambda: replay.screen.feed.history.ended, 30)
        assert replay.screen.feed.history.steps_seen == 6


async def test_quitting_mid_run_ends_the_recording_as_stopped(tmp_path: Path) -> None:
    path = tmp_path / "stopped.jsonl"
    spec = resolve("relu_deep").with_overrides(steps=5000)
    app = GradApp(
        catalog=discover(), start=[spec], speed=None, make_source=recording_first(Recorder(path))
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.feed.history.steps_seen >= 3, STARTUP)
        await pilot.press("q")
    loaded = read_recording(path)
    assert loaded.warning is None
    end = loaded.events[-1]
    assert end.type == "run_finished" and end.stopped
    assert end.steps_run == sum(e.type == "step" for e in loaded.events)
