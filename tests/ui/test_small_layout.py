"""The screens at 60x20, 80x24 and 120x40: no phrase cut across two rows in the picker, a
footer whose keys all fit, compare's gradient flow down to the head row, and the lesson bar
whole with its border (recorded runs, the screen read back as text)."""

from __future__ import annotations

import pytest

from gradtui.learn.course import LESSONS
from gradtui.scenario.spec import discover
from gradtui.ui.screens.course import CourseScreen
from gradtui.ui.screens.lesson import LessonBar
from gradtui.ui.screens.picker import PickerScreen
from gradtui.ui.screens.picking import summary_phrases
from gradtui.ui.screens.runscreen import RunScreen
from gradtui.ui.widgets.heatmap import FlowHeatmap
from tests.ui.conftest import wait_for
from tests.ui.screen_text import (
    SIZES,
    assert_footer_fits,
    footer_laid_out,
    screen_lines,
    text_in,
)
from tests.ui.test_learn import learn_app, open_lesson


@pytest.mark.parametrize("size", SIZES)
async def test_each_scenario_is_one_row_of_the_picker(make_app, size) -> None:
    app = make_app()
    names = set(discover().scenarios)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await wait_for(pilot, lambda: footer_laid_out(app))
        listed = app.screen.query_one("#scenarios")
        rows = [row.strip("│ ◆↳") for row in text_in(app, listed.content_region)]
        shown = [row for row in rows if row]
        assert shown, "no scenario in view"
        for row in shown:  # each row starts with a name: no title wrapped onto a row of its own
            assert row.split()[0] in names, f"a row that is not a scenario: {row!r}"
        assert_footer_fits(app)


@pytest.mark.parametrize("size", SIZES)
async def test_the_summary_breaks_only_between_phrases(make_app, size) -> None:
    app = make_app()
    catalog = discover()
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        for _ in range(4):  # a few scenarios, each with its own summary
            await pilot.pause(0.2)
            name = app.screen._highlighted_name()
            lesson = app.screen.query_one("#lesson")
            text = "\n".join(text_in(app, lesson.content_region))
            for phrase, _sep in summary_phrases(catalog.scenarios[name][0]):
                assert phrase in text, f"{phrase!r} is cut at {size}:\n{text}"
            await pilot.press("down")


@pytest.mark.parametrize("size", SIZES)
async def test_the_filter_placeholder_is_never_cut(make_app, size) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.pause(0.2)
        box = app.screen.query_one("#filter")
        row = "".join(text_in(app, box.content_region)).strip()
        assert row.endswith(("words)", "type to filter")), row


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("names", [("sigmoid_deep",), ("sigmoid_deep", "relu_deep")])
async def test_a_running_run_has_a_footer_that_fits(make_app, recorded_events, size, names) -> None:
    """Running (pause and step shown too) and ended, one run and two."""
    app = make_app(replays=[recorded_events[n] for n in names], speed=5)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        await wait_for(pilot, lambda: app.screen.feeds[0].history.latest is not None)
        await wait_for(pilot, lambda: footer_laid_out(app))
        assert_footer_fits(app)
        footer = "".join(text_in(app, app.screen.query_one("Footer").region))
        assert "Pause" in footer and "Quit" in footer
        if size[0] >= 120:
            assert "Restart" in footer  # a wide footer keeps every key
        assert screen_lines(app)[-1] == footer


@pytest.mark.parametrize("size", SIZES)
async def test_compare_gradient_flow_keeps_the_head_row(make_app, recorded_events, size) -> None:
    """21 layers side by side: merged to fit the panel, the head's row (H), the step axis
    and the colour key in view on both sides, the panel above the footer."""
    runs = [recorded_events["sigmoid_deep"], recorded_events["relu_deep"]]
    app = make_app(replays=runs, speed=None)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        await wait_for(pilot, lambda: all(f.history.ended for f in app.screen.feeds))
        await pilot.press("p", "p")
        footer = app.screen.query_one("Footer").region
        for heat in app.screen.query(FlowHeatmap):
            await wait_for(pilot, lambda heat=heat: heat.region.height > 1)
            await pilot.pause(0.3)
            box = heat.parent.content_region
            assert box.bottom <= footer.y
            rows = [row.strip() for row in text_in(app, box)]
            labels = [row.split()[0] for row in rows if row and not row.startswith("step")]
            assert labels[0] == "0" and labels[-1] == "H", rows
            assert any(row.startswith("step 0") for row in rows), rows
            key = text_in(app, heat.parent.region)[-1]  # the colour key, on the bottom border
            assert "-7" in key and "3" in key
            if size[0] >= 80:
                assert "none" in key, key  # the whole key: one cell a band when narrow


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("number", [8, 9])  # one run with its bar, and two side by side
async def test_the_lesson_bar_is_whole_and_scrolls_to_the_verdict(size, number) -> None:
    """Both borders of the bar on screen, above the footer; the answer, then the verdict of
    the self-check, scrolled into view however little room the bar has."""
    app = learn_app(seed=0)
    async with app.run_test(size=size) as pilot:
        await open_lesson(pilot, number)
        bar = app.screen.query_one(LessonBar)
        right = str(LESSONS[number - 1].quiz.correct + 1)
        for keys, line in ((["a"], "Answer:"), (["3", right], "Right.")):
            await pilot.press(*keys)
            await pilot.pause(0.5)
            rows = text_in(app, bar.region)
            assert bar.region.bottom <= app.screen.query_one("Footer").region.y
            assert rows[0].startswith("╭─ Lesson") and rows[-1].startswith("╰"), rows
            assert any(row.lstrip("│ ▶").startswith(line) for row in rows[1:-1]), rows
            assert (bar.max_scroll_y > 0) == ("scroll for more" in rows[-1])


@pytest.mark.parametrize("size", SIZES)
async def test_the_course_and_exercise_one_have_footers_that_fit(size) -> None:
    app = learn_app(seed=0)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CourseScreen))
        await wait_for(pilot, lambda: footer_laid_out(app))
        assert_footer_fits(app)
        await open_lesson(pilot, 1)  # exercise 1, by hand
        await wait_for(pilot, lambda: footer_laid_out(app))
        await pilot.pause(0.3)
        assert_footer_fits(app)
