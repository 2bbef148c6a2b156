"""The course, driven with Pilot: each lesson starts its experiment, highlights its panel and
answers with numbers from the runs on screen (they change with the seed); the self-checks;
progress that persists; and the hand-backprop screen against autograd."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradtui.events import Event
from gradtui.learn import handprop
from gradtui.learn.course import LESSONS
from gradtui.learn.progress import Progress
from gradtui.recording import read_recording
from gradtui.scenario.spec import ScenarioSpec, discover, resolve
from gradtui.ui.learn_app import LearnApp
from gradtui.ui.screens.course import CourseScreen
from gradtui.ui.screens.handprop import LAST_STEP, HandpropScreen, backward_text
from gradtui.ui.screens.lesson import PANELS, LessonCompare, LessonDashboard
from gradtui.ui.sources import ReplaySource
from tests.ui.conftest import wait_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "learn"
_RUNS: dict[Path, list[Event]] = {}


def recorded_replay(spec: ScenarioSpec, speed: float | None) -> ReplaySource:
    """Stands in for the worker: replays the committed recording of this run at this seed
    (tests/fixtures/make_learn_recordings.py makes them)."""
    path = FIXTURES / f"{spec.name}.seed{spec.data.seed}.jsonl"
    if not path.exists():
        pytest.fail(f"no recording {path.name}: run tests/fixtures/make_learn_recordings.py")
    if path not in _RUNS:
        _RUNS[path] = read_recording(path).events
    return ReplaySource(list(_RUNS[path]), speed)


@pytest.fixture(autouse=True)
def _config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def learn_app(seed: int | None = 0) -> LearnApp:
    return LearnApp(discover(), make_source=recorded_replay, speed=None, seed=seed)


async def open_lesson(pilot, number: int) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, CourseScreen))
    await pilot.press(*["down"] * (number - 1), "enter")
    if number == 1:
        await wait_for(pilot, lambda: isinstance(app.screen, HandpropScreen))
        return
    await wait_for(pilot, lambda: isinstance(app.screen, (LessonDashboard, LessonCompare)))
    await wait_for(pilot, lambda: all(f.history.ended for f in app.screen.feeds))
    await pilot.pause(0.2)


# For each lesson: a number the answer must quote, read from the runs' digests.
QUOTED = {
    2: lambda d: f"{d[0].layer_ratio:.1e}",
    3: lambda d: f"{d[0].final_loss:.1e}",
    4: lambda d: f"{d[1].layer_ratio:.1e}",
    5: lambda d: f"{d[0].max_finite_grad_norm:.1e}",
    6: lambda d: f"{d[1].final_loss:.1e}",
    7: lambda d: f"{d[1].update_ratio:.1e}",
    8: lambda d: f"Step {d[0].failure.step} raised {d[0].failure.error_type}",
    9: lambda d: f"{d[0].chain_ratio:.1e}",
    10: lambda d: f"{d[0].final_loss:.1e}",
}


async def lesson_answer(number: int, seed: int) -> str:
    lesson = LESSONS[number - 1]
    app = learn_app(seed)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_lesson(pilot, number)
        screen = app.screen
        names = [f.history.started.scenario for f in screen.feeds]
        assert names == [spec.name for spec in lesson.runs(resolve)]
        assert isinstance(screen, LessonDashboard if len(names) == 1 else LessonCompare)
        selector = PANELS[lesson.panel][len(names) > 1]
        focused = list(screen.query(".lesson-focus"))
        assert focused and focused == list(screen.query(selector))
        assert "Press a for the answer" in str(screen.query_one("#lesson-bar").render())
        offered = [b.binding.action for b in app.active_bindings.values()]
        assert "compare" not in offered  # c would only leave the lesson
        await pilot.press("c")
        assert app.screen is screen
        await pilot.press("a")
        await pilot.pause(0.1)
        answer = screen.answer_text
        assert answer and answer == lesson.answer(screen.digests)
        assert QUOTED[number](screen.digests) in answer
        assert answer[:40] in str(screen.query_one("#lesson-bar").render())
        return answer


@pytest.mark.parametrize("number", range(2, 11))
async def test_each_lesson_runs_highlights_and_answers_from_its_run(number: int):
    first = await lesson_answer(number, seed=0)
    other = await lesson_answer(number, seed=1)
    if number != 8:  # the in-place error is the same at any seed
        assert first != other, "the answer did not change with the run"


async def test_a_self_check_is_checked_with_its_reason():
    app = learn_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_lesson(pilot, 6)
        screen = app.screen
        await pilot.press("1")  # before the answer: ignored
        assert screen.choice is None
        await pilot.press("a", "1")
        await pilot.pause(0.1)
        bar = str(screen.query_one("#lesson-bar").render())
        assert "Not quite." in bar and LESSONS[5].quiz.reason[:30] in bar
        assert 6 not in Progress().done
        await pilot.press("2")
        await pilot.pause(0.1)
        assert "Right." in str(screen.query_one("#lesson-bar").render())
        assert 6 in Progress().done


async def test_progress_is_ticked_and_remembered_between_runs():
    app = learn_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_lesson(pilot, 2)
        await pilot.press("a", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CourseScreen))
        assert app.screen.progress.done == {2}
    again = learn_app()
    async with again.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(again.screen, CourseScreen))
        title = str(again.screen.query_one("#course-title").render())
        assert "1 of 10 done" in title
        first_two = [str(o.prompt) for o in again.screen.query_one("#lessons").options[:2]]
        assert first_two[0].startswith("  ") and first_two[1].startswith("✓")
        await pilot.press("escape")  # the course sits on the picker
        assert type(again.screen).__name__ == "PickerScreen"


async def wait_ready(pilot) -> HandpropScreen:
    await wait_for(pilot, lambda: pilot.app.screen.ready, timeout=120)
    return pilot.app.screen


def shown_matches_autograd(screen: HandpropScreen) -> None:
    for line in handprop.backward_lines(screen.net):
        theirs = tuple(screen.autograd[line.key])
        assert handprop.difference(line.value, theirs) < 1e-12, line.label


async def test_hand_backprop_steps_switches_and_matches_autograd():
    app = learn_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_lesson(pilot, 1)
        screen = await wait_ready(pilot)
        assert "x.grad          = 7.0" in str(screen.query_one("#hp-lines").render())
        shown_matches_autograd(screen)
        await pilot.press("right", "right", "right")  # line 1's formula, its values, line 2
        text = str(screen.query_one("#hp-lines").render())
        assert "2. ∂L/∂W2 = ∂L/∂y · hᵀ" in text and "3." not in text
        assert text.count("difference") == 1  # line 2's values wait for the next key
        await pilot.press("left")
        assert screen.step == 2
        await pilot.press("a")
        assert screen.net.activation == "tanh"
        screen = await wait_ready(pilot)
        shown_matches_autograd(screen)
        before = screen.net
        await pilot.press("r")
        assert screen.net != before and screen.net.activation == "tanh"
        screen = await wait_ready(pilot)
        shown_matches_autograd(screen)
        assert 1 not in Progress().done
        await pilot.press(*["right"] * LAST_STEP)
        assert screen.step == LAST_STEP and 1 in Progress().done


def test_snapshot_hand_backprop(snap_compare) -> None:
    """Exercise 1 at line 5 of 7 (∂L/∂z1), sigmoid, weights #1: forward values on the left;
    lines 1-4 by hand beside autograd's with a difference of about 1e-16; line 5's formula in
    two steps, its value a `?` waiting for space."""

    async def before(pilot) -> None:
        await open_lesson(pilot, 1)
        await wait_ready(pilot)
        await pilot.press(*["space"] * 9)
        await pilot.pause(0.2)

    assert snap_compare(learn_app(), terminal_size=(120, 40), run_before=before)


def test_snapshot_course(snap_compare, tmp_path) -> None:
    """The course list with items 1 and 2 ticked; the question of the highlighted item 3."""

    async def before(pilot) -> None:
        Progress().mark(1)
        Progress().mark(2)
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CourseScreen))
        pilot.app.screen.progress = Progress()
        await pilot.press("down", "down")
        pilot.app.screen.refill()
        await pilot.pause(0.2)

    assert snap_compare(learn_app(), terminal_size=(120, 40), run_before=before)


def test_snapshot_lesson_answered(snap_compare) -> None:
    """Lesson 2 after `a`: sigmoid_deep beside relu_deep, both Layers panels highlighted, and
    the answer quoting this run's first-to-last gradient ratios."""

    async def before(pilot) -> None:
        await open_lesson(pilot, 2)
        await pilot.press("a")
        pilot.app.clear_notifications()
        await pilot.pause(0.2)

    assert snap_compare(learn_app(), terminal_size=(120, 40), run_before=before)


async def test_the_course_opens_from_the_pickers_command_palette():
    from gradtui.ui.app import GradApp

    app = GradApp(discover(), make_source=recorded_replay, speed=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: type(app.screen).__name__ == "PickerScreen")
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"Learn")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CourseScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "PickerScreen")


def test_a_matrix_gradient_is_shown_as_its_matrix():
    net = handprop.random_net(3, "tanh")
    matrices = [line for line in handprop.backward_lines(net) if len(line.shape) == 2]
    line = max(matrices, key=lambda line: line.shape[0])  # ∂L/∂W1, 3x2
    rows, columns = line.shape
    text = backward_text(net, LAST_STEP, None, "").plain
    after = text.split(f"{line.label} =")[1].split("autograd")[0].splitlines()[1:]
    shown = [row for row in after if row.strip()]
    assert rows > 1 and len(shown) == rows
    assert all(row.count("+") + row.count("-") == columns for row in shown)
