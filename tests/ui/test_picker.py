"""The picker as people use it: fast typing, words with spaces, marks, the mouse."""

from __future__ import annotations

import pytest
from textual import events

from gradtui.ui.screens.compare import CompareScreen
from gradtui.ui.screens.dashboard import DashboardScreen
from gradtui.ui.screens.help import HelpScreen
from gradtui.ui.screens.picker import PickerScreen, ScenarioList
from gradtui.ui.sources import ReplaySource
from tests.ui.conftest import wait_for

SIZE = (120, 40)


async def type_at_once(pilot, *keys: str) -> None:
    """Send every key before the app handles any, as a fast typist or a terminal does."""
    app = pilot.app
    for key in keys:
        character = {"space": " ", "question_mark": "?"}.get(key, key if len(key) == 1 else None)
        app._driver.send_message(events.Key(key, character))
    await pilot.pause(0.3)


@pytest.fixture
def launches(make_app, recorded_events):
    """An app whose launches are noted by name (each replays sigmoid_deep's recording)."""
    names: list[str] = []

    def source(spec, speed):
        names.append(spec.name)
        return ReplaySource(recorded_events["sigmoid_deep"], speed)

    return make_app(make_source=source), names


def launched(app) -> list[str]:
    return [f.source.recorded[0].scenario for f in app.screen.feeds]


async def test_a_name_and_enter_typed_in_one_go_launch_that_name(launches) -> None:
    app, names = launches
    async with app.run_test(size=SIZE) as pilot:
        await type_at_once(pilot, *"relu_deep", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert names == ["relu_deep"]


async def test_down_typed_right_after_a_filter_moves_within_it(launches) -> None:
    app, names = launches
    async with app.run_test(size=SIZE) as pilot:
        await type_at_once(pilot, *"sigmoid", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert names == ["batchnorm_sigmoid"]  # the second of the filtered rows


async def test_s_then_q_typed_in_one_go_is_a_filter_not_quit(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_at_once(pilot, "s", "q", "question_mark", "space", "c")
        assert app.return_code is None and isinstance(app.screen, PickerScreen)
        assert app.screen.filter_text == "sq? c"


async def test_a_paste_fills_the_filter_and_its_newline_launches_nothing(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.post_message(events.Paste("broken_graph\n"))
        await pilot.pause(0.2)
        assert app.screen.filter_text == "broken_graph"
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert launched(app) == ["broken_graph"]


async def test_q_question_mark_and_space_are_text_once_the_filter_has_some(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.screen
        await pilot.press("s", "q", "question_mark", "space", "c")
        assert picker.filter_text == "sq? c"
        assert isinstance(app.screen, PickerScreen) and app.return_code is None
        assert picker.marked == []


async def test_words_with_a_space_between_them_filter_on_both(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"sigmoid batch")
        listed = [o.id for o in app.screen.query_one(ScenarioList).options]
        assert "batchnorm_sigmoid" in listed and "sigmoid_deep" not in listed


async def test_question_mark_and_q_are_commands_on_an_empty_filter(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "q")
        await wait_for(pilot, lambda: app.return_code == 0, timeout=10)


async def test_enter_runs_the_highlighted_row_even_with_two_marked(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.screen
        await pilot.press(*"sigmoid_deep", "escape", "space", *"relu_deep", "escape", "space")
        await pilot.press(*"broken", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert launched(app) == ["broken_graph"]
        await pilot.press("escape")
        assert picker.marked == ["sigmoid_deep", "relu_deep"]
        await pilot.press("escape")  # clears the filter
        assert "c Compare marked" in _footer(app) and "esc Clear marks" in _footer(app)


async def test_a_third_mark_is_refused_and_escape_clears_the_marks(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.screen
        await pilot.press("space", "down", "space", "down", "space")
        assert len(picker.marked) == 2
        assert any("two marked" in n.title for n in app._notifications)
        await pilot.press("escape")
        assert picker.marked == []


async def test_one_click_shows_the_lesson_and_a_double_click_launches(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.screen
        rows = picker.query_one(ScenarioList)
        second = rows.get_option_at_index(1).id
        await pilot.click(ScenarioList, offset=(4, 2))
        assert isinstance(app.screen, PickerScreen)
        assert picker._highlighted_name() == second
        await pilot.double_click(ScenarioList, offset=(4, 2))
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert launched(app) == [second]


async def test_the_filter_box_takes_a_click_and_keeps_the_keys(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#filter")
        await pilot.press(*"tiny")
        assert app.screen.filter_text == "tiny"
        assert app.focused is app.screen.query_one("#filter")


async def test_the_command_palette_launches_a_scenario(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"launch broken_graph")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert launched(app) == ["broken_graph"]


async def test_the_list_is_a_course_each_problem_before_its_fixes(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE):
        listed = [o.id for o in app.screen.query_one(ScenarioList).options]
        assert listed.index("sigmoid_deep") < listed.index("relu_deep")
        assert listed.index("relu_deep") < listed.index("batchnorm_sigmoid")
        assert listed.index("init_small_uniform") + 1 == listed.index("init_kaiming")
        assert listed.index("exploding_no_clip") + 1 == listed.index("exploding_clipped")
        titles = [spec.title for spec, _ in app.catalog.scenarios.values()]
        assert len(set(titles)) == len(titles)


def _footer(app) -> str:
    from textual.widgets import Footer

    footer = app.screen.query_one(Footer)
    return " ".join(f"{key.key_display} {key.description}" for key in footer.query("FooterKey"))


async def test_compare_from_a_dashboard_clears_marks_after(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"sigmoid_deep", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("c")
        await pilot.press(*"relu_deep", "escape", "space", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        assert launched(app) == ["sigmoid_deep", "relu_deep"]
