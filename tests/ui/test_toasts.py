"""Notifications sit above the footer, never over a header, and say what the panel says."""

from __future__ import annotations

import pytest

from gradtui.ui.screens.runscreen import RunScreen
from gradtui.ui.sources import speed_label
from gradtui.ui.widgets.header import RunHeader
from tests.ui.conftest import wait_for

SIZES = [(80, 24), (120, 40)]


def uncovered(app, header: RunHeader) -> bool:
    """Whether every cell of the header shows the header, not a toast over it."""
    region = header.region
    return all(
        app.screen.get_widget_at(x, region.y)[0] is header for x in range(region.x, region.right)
    )


async def ended(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
    await wait_for(pilot, lambda: all(f.history.ended for f in app.screen.feeds))
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", SIZES)
async def test_a_speed_toast_leaves_the_header_whole(make_app, recorded_events, size) -> None:
    app = make_app(replays=[recorded_events["broken_graph"]], speed=None)
    async with app.run_test(size=size, notifications=True) as pilot:
        await ended(pilot)
        await pilot.press("minus", "minus", "plus")
        await pilot.pause(0.2)
        assert app.screen.query("Toast")
        header = app.screen.query_one(RunHeader)
        assert uncovered(app, header)
        line = header.render().plain
        steps = app.screen.feed.history.steps_seen
        assert f"step {steps}/" in line and f" {speed_label(app.screen.speed)} " in line


@pytest.mark.parametrize("size", SIZES)
async def test_toasts_cover_neither_header_in_compare(make_app, recorded_events, size) -> None:
    replays = [recorded_events["broken_graph"], recorded_events["sigmoid_deep"]]
    app = make_app(replays=replays, speed=None)
    async with app.run_test(size=size, notifications=True) as pilot:
        await ended(pilot)
        await pilot.press("plus")
        await pilot.pause(0.2)
        assert len(app.screen.query("Toast")) >= 2
        headers = list(app.screen.query(RunHeader))
        assert len(headers) == 2 and all(uncovered(app, h) for h in headers)


async def test_a_toast_says_the_severity_the_panel_says(make_app, recorded_events) -> None:
    """broken_graph's missing gradients start as a warning and become an error: the panel
    shows ERROR, so a toast says ERROR too."""
    app = make_app(replays=[recorded_events["broken_graph"]], speed=None)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await ended(pilot)
        found = {d.kind: d.severity for d in app.screen.feed.history.diagnoses()}
        assert found["missing_gradients"] == "error"
        toasts = [(n.message, n.severity) for n in app._notifications]
        assert any(m.startswith("ERROR missing gradients") and s == "error" for m, s in toasts)
