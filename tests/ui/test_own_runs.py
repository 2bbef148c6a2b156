"""A user's own runs (gradtui replay, gradtui attach): escape asks before leaving, c asks for a
second recording, and a writer that stopped is not shown as running."""

from __future__ import annotations

from pathlib import Path

from gradtui.events import LayerInfo, RunStarted, StepStats
from gradtui.recording import Recorder
from gradtui.scenario.spec import discover
from gradtui.ui import follow_source
from gradtui.ui.app import GradApp
from gradtui.ui.attach import AttachApp
from gradtui.ui.screens.compare import CompareScreen
from gradtui.ui.screens.dashboard import DashboardScreen
from gradtui.ui.screens.own import ConfirmLeave, OpenRecording
from gradtui.ui.screens.picker import PickerScreen
from gradtui.ui.widgets.header import RunHeader
from tests.ui.conftest import wait_for

SIZE = (120, 40)


def own_replay(recorded_events, *names: str) -> GradApp:
    events = [recorded_events[name] for name in names]
    return GradApp(catalog=discover(), replays=events, speed=None, own_runs=True)


async def test_escape_on_a_replay_asks_then_stays_or_quits(recorded_events) -> None:
    app = own_replay(recorded_events, "relu_deep")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        dashboard = app.screen
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmLeave)
        await pilot.press("n")
        assert app.screen is dashboard
        assert not any(isinstance(s, PickerScreen) for s in app.screen_stack)
        await pilot.press("escape", "y")
        await wait_for(pilot, lambda: app.return_code == 0, timeout=10)


async def test_c_on_a_replay_compares_with_a_second_recording(
    recorded_events, recordings: dict[str, Path]
) -> None:
    app = own_replay(recorded_events, "sigmoid_deep")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("c")
        assert isinstance(app.screen, OpenRecording)
        await pilot.press(*"nothing_here.jsonl", "enter")
        assert isinstance(app.screen, OpenRecording)  # refused in one line, still asking
        assert "no such file" in str(app.screen.query_one("#problem").render())
        app.screen.query_one("#path").value = str(recordings["relu_deep"])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        feeds = app.screen.feeds
        await wait_for(pilot, lambda: all(f.history.ended for f in feeds))
        assert [f.history.started.scenario for f in feeds] == ["sigmoid_deep", "relu_deep"]
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmLeave)


async def test_escape_on_attach_asks_and_never_opens_the_picker(
    recordings: dict[str, Path],
) -> None:
    app = AttachApp([recordings["broken_graph"]], catalog=discover())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmLeave)
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("c")
        assert isinstance(app.screen, OpenRecording)
        assert not any(isinstance(s, PickerScreen) for s in app.screen_stack)


async def test_a_writer_that_stopped_is_shown_silent_not_running(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(follow_source, "QUIET_SECONDS", 0.5)
    path = tmp_path / "died.jsonl"
    recorder = Recorder(path)
    recorder(
        RunStarted(
            "died",
            "a run whose writer died",
            "",
            {},
            (LayerInfo("fc", "Linear", 0, 4),),
            ("fc",),
            0,
            4,
        )
    )
    recorder(StepStats(0, 1.0, 1.0, None, (1.0,), (0,), (1.0,), (1e-3,), (1.0,)))
    recorder.close()  # no run_finished: the writer is gone
    app = AttachApp([path], catalog=discover())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        header = app.screen.query_one(RunHeader)
        await wait_for(pilot, lambda: "silent" in header._text.plain)
        assert "running" not in header._text.plain and "steps/s" not in header._text.plain
