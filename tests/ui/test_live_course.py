"""Every lesson of the course on real training processes, as a learner drives it.

tests/ui/test_learn.py checks the lessons on committed replays; here each lesson's runs are
live workers (the lesson's own scenarios, cut to a few dozen steps), opened with keys pressed
back to back: enter, then a at once (before any step has arrived), then a again once the runs
have ended, then q. Each worker must start once and be gone when the app has quit.
"""

from __future__ import annotations

import pytest

from gradtui.learn.course import LESSONS
from gradtui.scenario.spec import discover, resolve
from gradtui.ui.learn_app import LearnApp
from gradtui.ui.screens.course import CourseScreen
from gradtui.ui.screens.lesson import LessonCompare, LessonDashboard
from tests.ui.conftest import wait_for
from tests.ui.live_helpers import STARTUP_S, STEPS, Started, recording_starts
from tests.ui.test_learn import QUOTED

SIZES = ((80, 24), (120, 40))


def live_course(started: Started) -> LearnApp:
    return LearnApp(discover(), make_source=started.make, speed=None)


async def open_at_once(pilot, number: int, *then: str) -> None:
    """From the course list: move to the lesson and press enter, then the keys in `then`,
    without waiting for anything in between."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CourseScreen))
    await pilot.press(*["down"] * (number - 1), "enter", *then)


@pytest.mark.slow
@pytest.mark.parametrize("number", range(2, 11))
async def test_each_lesson_runs_live_and_answers_from_its_runs(monkeypatch, number: int) -> None:
    lesson = LESSONS[number - 1]
    with recording_starts(monkeypatch) as started:
        app = live_course(started)
        async with app.run_test(size=SIZES[number % 2]) as pilot:
            await open_at_once(pilot, number, "a")
            screen = app.screen
            kind = LessonCompare if len(started.sources) > 1 else LessonDashboard
            assert isinstance(screen, kind)
            assert screen.lesson.number == number
            await wait_for(pilot, lambda: all(f.history.ended for f in screen.feeds), STARTUP_S)
            await pilot.press("a")
            await pilot.pause(0.1)
            digests = screen.digests
            for feed, digest in zip(screen.feeds, digests, strict=True):
                assert digest.finished
                assert digest.steps == feed.history.steps_seen <= STEPS
                if digest.failure is None and digest.first_nonfinite_step is None:
                    assert digest.steps == STEPS  # the live run, cut short, not a recording
            answer = screen.answer_text
            assert answer == lesson.answer(digests)
            assert QUOTED[number](digests) in answer
            assert answer[:40] in str(screen.query_one("#lesson-bar").render())
            started.assert_each_started_once()
            assert len(started.starts) == len(lesson.runs(resolve))
            await pilot.press("q")
            assert app.return_code == 0  # q quit the app
        started.assert_all_gone()


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
async def test_q_while_the_second_worker_is_starting_leaves_no_process(monkeypatch, size) -> None:
    with recording_starts(monkeypatch) as started:
        app = live_course(started)
        async with app.run_test(size=size) as pilot:
            await open_at_once(pilot, 2)  # sigmoid against ReLU: two workers
            await wait_for(pilot, lambda: len(started.starts) == 2)
            feeds = app.screen.feeds
            assert not any(f.history.steps_seen for f in feeds)  # still importing torch
            await pilot.press("q")
            assert app.return_code == 0
        started.assert_each_started_once()
        started.assert_all_gone()
