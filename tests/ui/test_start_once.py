"""A live run starts one worker process and one tick, however its screen is built.

Textual calls each class's on_mount along the method resolution order, so a subclass that
also called super().on_mount() started every worker twice; these tests pin each level.
"""

from __future__ import annotations

import time

import pytest

from gradtui.events import Event
from gradtui.scenario.spec import discover, resolve
from gradtui.ui.app import GradApp
from gradtui.ui.feed import RunFeed
from gradtui.ui.screens.compare import CompareScreen
from gradtui.ui.screens.runscreen import RunScreen
from gradtui.ui.sources import ReplaySource
from tests.ui.conftest import wait_for
from tests.ui.live_helpers import STARTUP_S, STEPS, recording_starts


class CountedReplay(ReplaySource):
    """A replay that counts how often it is started."""

    def __init__(self, events: list[Event]) -> None:
        super().__init__(events, speed=None)
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        super().start()


def test_a_feed_started_twice_starts_its_source_once(recorded_events) -> None:
    source = CountedReplay(recorded_events["relu_deep"])
    feed = RunFeed(source)
    feed.start()
    feed.start()
    assert source.starts == 1


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_a_compare_screen_starts_its_sources_and_its_tick_once(
    monkeypatch, recorded_events, size
) -> None:
    ticks: list[object] = []
    real_interval = RunScreen.set_interval

    def set_interval(screen, interval, callback=None, **kwargs):
        if getattr(callback, "__name__", "") == "tick":
            ticks.append(callback)
        return real_interval(screen, interval, callback, **kwargs)

    monkeypatch.setattr(RunScreen, "set_interval", set_interval)
    sources = [CountedReplay(recorded_events[n]) for n in ("relu_deep", "sigmoid_deep")]
    app = GradApp(catalog=discover(), own_runs=True)
    async with app.run_test(size=size) as pilot:
        screen = CompareScreen([RunFeed(source) for source in sources])
        await app.push_screen(screen)
        await pilot.pause()
        screen.start_runs()  # as a second mount handler would
        await pilot.pause()
        assert [source.starts for source in sources] == [1, 1]
        assert len(ticks) == 1


@pytest.mark.slow
def test_a_live_source_started_twice_starts_one_process(monkeypatch) -> None:
    with recording_starts(monkeypatch) as started:
        source = started.make(resolve("tiny_overfit"), None)
        source.start()
        source.start()
        feed = RunFeed(source)
        deadline = time.monotonic() + STARTUP_S
        while not feed.history.ended and time.monotonic() < deadline:
            feed.pump()
            time.sleep(0.05)
        assert feed.history.state == "finished"
        assert feed.history.steps_seen == STEPS  # one run: a second command would start over
        assert len(started.starts) == 1
        source.close()
        source.start()  # a closed source stays closed
        assert len(started.starts) == 1
    started.assert_all_gone()


@pytest.mark.slow
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_two_live_runs_side_by_side_start_one_process_each(monkeypatch, size) -> None:
    with recording_starts(monkeypatch) as started:
        specs = [resolve("tiny_overfit"), resolve("relu_deep")]
        app = GradApp(catalog=discover(), start=specs, speed=None, make_source=started.make)
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
            screen = app.screen
            await wait_for(pilot, lambda: all(f.history.ended for f in screen.feeds), STARTUP_S)
            assert [f.history.steps_seen for f in screen.feeds] == [STEPS, STEPS]
            started.assert_each_started_once()
            assert len(started.starts) == 2
            await pilot.press("q")
        started.assert_all_gone()
