"""Each key binding and screen transition, driven with Pilot over replayed runs."""

from __future__ import annotations

import pytest

from gradtui.ui.feed import SPEEDS
from gradtui.ui.screens.compare import CompareScreen
from gradtui.ui.screens.dashboard import DashboardScreen
from gradtui.ui.screens.help import HelpScreen
from gradtui.ui.screens.picker import PickerScreen
from gradtui.ui.widgets.header import RunHeader
from tests.ui.conftest import wait_for

SIZE = (120, 40)


def replay_app(make_app, recorded_events, names, speed=25.0):
    return make_app(replays=[recorded_events[n] for n in names], speed=speed)


async def test_picker_filter_enter_launches(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.screen
        assert isinstance(picker, PickerScreen)
        await pilot.press(*"broken")
        assert picker.filter_text == "broken"
        assert picker._highlighted_name() == "broken_graph"
        await pilot.press("backspace")
        assert picker.filter_text == "broke"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert app.screen.feed.source.recorded[0].scenario == "broken_graph"
        await pilot.press("escape")
        assert isinstance(app.screen, PickerScreen)


async def test_picker_lists_name_matches_before_lesson_matches(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.screen
        await pilot.press(*"sigmoid")
        listed = [o.id for o in picker.query_one("OptionList").options]
        # lr_too_low's lesson mentions sigmoid_deep; the names with "sigmoid" come first,
        # the problem before its fix
        assert listed[:2] == ["sigmoid_deep", "batchnorm_sigmoid"]
        assert "lr_too_low" in listed[2:]
        assert picker._highlighted_name() == "sigmoid_deep"


async def test_picker_arrows_and_escape_clears(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.screen
        first = picker._highlighted_name()
        await pilot.press("down")
        assert picker._highlighted_name() != first
        await pilot.press("up")
        assert picker._highlighted_name() == first
        await pilot.press(*"sigm", "escape")
        assert picker.filter_text == ""


async def test_mark_two_then_c_compares_and_clears_the_marks(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.screen
        await pilot.press(*"sigmoid_deep", "escape", "space", *"relu_deep", "escape", "space")
        assert picker.marked == ["sigmoid_deep", "relu_deep"]
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        names = [f.source.recorded[0].scenario for f in app.screen.feeds]
        assert names == ["sigmoid_deep", "relu_deep"]
        await pilot.press("escape")
        assert isinstance(app.screen, PickerScreen)
        assert picker.marked == []


async def test_c_compares_two_marked_and_types_otherwise(make_app, recorded_events) -> None:
    recorded_events["residual_deep"] = recorded_events["sigmoid_deep"]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.screen
        await pilot.press("c")  # nothing marked: the letter goes to the filter
        assert picker.filter_text == "c"
        await pilot.press("backspace", *"relu_deep", "escape", "space", *"residual", "escape")
        await pilot.press("space")
        assert picker.marked == ["relu_deep", "residual_deep"]
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))


async def test_invalid_scenario_cannot_be_launched(make_app, tmp_path) -> None:
    from gradtui.scenario.spec import discover

    (tmp_path / "broken_file.toml").write_text('name = "broken_file"\ntitle = 3\n')
    app = make_app(catalog=discover([tmp_path]))
    async with app.run_test(size=SIZE) as pilot:
        picker = app.screen
        await pilot.press(*"broken_file")
        options = picker.query_one("#scenarios").options
        assert [o.disabled for o in options] == [True]
        await pilot.press("enter")
        assert isinstance(app.screen, PickerScreen)


async def test_space_pauses_and_resumes(make_app, recorded_events) -> None:
    app = replay_app(make_app, recorded_events, ["sigmoid_deep"], speed=10)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.feed.history.steps_seen >= 2)
        await pilot.press("space")
        assert screen.paused
        seen = screen.feed.history.steps_seen
        await pilot.pause(0.4)
        assert screen.feed.history.steps_seen == seen
        assert "paused" in screen.query_one(RunHeader).render().plain
        await pilot.press("space")
        await wait_for(pilot, lambda: screen.feed.history.steps_seen > seen)


async def test_n_steps_exactly_once_while_paused(make_app, recorded_events) -> None:
    app = replay_app(make_app, recorded_events, ["sigmoid_deep"], speed=10)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press("n")  # running: n pauses first
        assert screen.paused
        await pilot.pause(0.2)
        seen = screen.feed.history.steps_seen
        await pilot.press("n")
        await wait_for(pilot, lambda: screen.feed.history.steps_seen == seen + 1)
        await pilot.pause(0.3)
        assert screen.feed.history.steps_seen == seen + 1
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: screen.feed.history.steps_seen == seen + 3)


async def test_r_restarts_from_step_zero(make_app, recorded_events) -> None:
    app = replay_app(make_app, recorded_events, ["relu_deep"], speed=None)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.feed.history.ended)
        before = screen.feed.history
        await pilot.press("r")
        assert screen.feed.history is not before  # a new run from step 0
        await wait_for(pilot, lambda: screen.feed.history.ended)
        assert screen.feed.history.steps_seen == 40


async def test_r_keeps_a_pause(make_app, recorded_events) -> None:
    app = replay_app(make_app, recorded_events, ["relu_deep"], speed=10)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.feed.history.steps_seen >= 2)
        await pilot.press("space", "r")
        assert screen.feed.history.steps_seen == 0
        await pilot.pause(0.3)
        assert screen.feed.history.steps_seen == 0
        await pilot.press("space")
        await wait_for(pilot, lambda: screen.feed.history.steps_seen >= 1)


async def test_plus_minus_change_speed(make_app, recorded_events) -> None:
    app = replay_app(make_app, recorded_events, ["relu_deep"], speed=25)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press("plus")
        assert screen.speed == 50
        await pilot.press("minus", "minus")
        assert screen.speed == 10
        for _ in SPEEDS:
            await pilot.press("plus")
        assert screen.speed is None  # as fast as possible
        await pilot.pause(0.1)
        assert "speed max" in screen.query_one(RunHeader).render().plain
        for _ in SPEEDS:
            await pilot.press("minus")
        assert screen.speed == SPEEDS[0]
        assert app.speed == SPEEDS[0]  # the next run starts at this speed


async def test_c_goes_to_picker_with_run_marked(make_app, recorded_events) -> None:
    app = make_app(start=[_spec("sigmoid_deep")])
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("c")
        assert isinstance(app.screen, PickerScreen)
        assert app.screen.marked == ["sigmoid_deep"]
        # The live run keeps training and may toast a finding before or after the hint.
        told = [n.message for n in app._notifications]
        assert "Mark a second scenario with space, then press c again to compare." in told
        assert not any("enter" in message for message in told)
        await pilot.press(*"relu_deep", "escape", "space", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))


async def test_question_mark_opens_help_and_escape_closes(make_app, recorded_events) -> None:
    app = replay_app(make_app, recorded_events, ["broken_graph"])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, PickerScreen)


@pytest.mark.parametrize("keys", [[], ["question_mark"]], ids=["dashboard", "help"])
async def test_q_quits_from_a_run(make_app, recorded_events, keys) -> None:
    app = replay_app(make_app, recorded_events, ["broken_graph"])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press(*keys, "q")
        await wait_for(pilot, lambda: app.return_code == 0, timeout=10.0)


async def test_q_quits_from_the_picker(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code == 0, timeout=10.0)


async def test_compare_runs_in_lock_step(make_app, recorded_events) -> None:
    app = replay_app(make_app, recorded_events, ["sigmoid_deep", "relu_deep"], speed=25)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        a, b = (f.history for f in screen.feeds)
        await wait_for(pilot, lambda: a.steps_seen >= 5)
        await pilot.press("space")
        await pilot.pause(0.2)
        assert abs(a.steps_seen - b.steps_seen) <= 7
        before = (a.steps_seen, b.steps_seen)
        await pilot.press("n")
        after = (before[0] + 1, before[1] + 1)
        await wait_for(pilot, lambda: (a.steps_seen, b.steps_seen) == after)


def _spec(name: str):
    from gradtui.scenario.spec import resolve

    return resolve(name)


async def test_each_new_warning_or_error_is_announced_once_in_one_line(
    make_app, recorded_events
) -> None:
    app = replay_app(make_app, recorded_events, ["sigmoid_deep"], speed=None)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.feed.history.ended)
        await pilot.pause(0.3)
        found = screen.feed.history.diagnoses()
        assert {d.severity for d in found} == {"error", "info"}
        toasts = [n.message for n in app._notifications]
        first = found[0].layers[0]
        assert toasts == [f"ERROR vanishing gradients: {first} and {len(found[0].layers) - 1} more"]
        assert all(len(t) <= 56 and "\n" not in t for t in toasts)
        toast = app.screen.query_one("Toast")
        assert toast.region.height == 1
        assert toast.region.bottom == SIZE[1] - 1  # just above the footer


async def test_t_turns_the_toasts_off(make_app, recorded_events) -> None:
    app = replay_app(make_app, recorded_events, ["exploding_no_clip"], speed=None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await wait_for(pilot, lambda: app.screen.feed.history.ended)
        await pilot.pause(0.3)
        assert [n.message for n in app._notifications] == ["Notifications off (t turns them on)"]


async def test_an_ended_run_offers_no_pause_or_step(make_app, recorded_events) -> None:
    app = replay_app(make_app, recorded_events, ["broken_graph"], speed=None)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.feed.history.ended)
        await pilot.pause(0.2)
        shown = {b.binding.description for b in app.active_bindings.values() if b.binding.show}
        assert "Pause" not in shown and "Step" not in shown and "Restart" in shown
        await pilot.press("space", "n")
        assert not screen.paused
