"""Compare on live training processes, opened as users open it: from the picker (mark two,
c at once) and from a running dashboard (c, mark one more, c), at 80x24 and 120x40. Each
worker starts once, both runs reach their end, and every worker is gone after q."""

from __future__ import annotations

import pytest

from gradtui.scenario.spec import discover
from gradtui.ui.app import GradApp
from gradtui.ui.screens.compare import CompareScreen
from gradtui.ui.screens.dashboard import DashboardScreen
from gradtui.ui.screens.picker import PickerScreen
from tests.ui.conftest import wait_for
from tests.ui.live_helpers import STARTUP_S, STEPS, recording_starts

SIZES = [(80, 24), (120, 40)]


async def _run_to_the_end(pilot, app, started) -> None:
    await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
    screen = app.screen
    await pilot.press("p", "space", "space")  # panels and pause while the workers start
    await wait_for(pilot, lambda: all(f.history.ended for f in screen.feeds), STARTUP_S)
    assert [f.history.steps_seen for f in screen.feeds] == [STEPS, STEPS]
    started.assert_each_started_once()


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
async def test_compare_from_the_picker_on_live_runs(monkeypatch, size) -> None:
    with recording_starts(monkeypatch) as started:
        app = GradApp(catalog=discover(), speed=None, make_source=started.make)
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
            picker = app.screen
            keys = [*"tiny_overfit", "escape", "space", *"relu_deep", "escape", "space", "c"]
            await pilot.press(*keys)
            assert picker.marked == [] or isinstance(app.screen, CompareScreen)
            await _run_to_the_end(pilot, app, started)
            assert len(started.starts) == 2
            await pilot.press("q")
        started.assert_all_gone()


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
async def test_compare_from_a_running_dashboard(monkeypatch, size) -> None:
    with recording_starts(monkeypatch) as started:
        app = GradApp(catalog=discover(), speed=None, make_source=started.make)
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
            await pilot.press(*"tiny_overfit", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
            await pilot.press("c")  # back to the picker, this run marked: one more, then c
            await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
            assert app.screen.marked == ["tiny_overfit"]
            await pilot.press(*"relu_deep", "escape", "space", "c")
            await _run_to_the_end(pilot, app, started)
            names = [f.history.started.scenario for f in app.screen.feeds]
            assert names == ["tiny_overfit", "relu_deep"]
            await pilot.press("q")
        started.assert_all_gone()
