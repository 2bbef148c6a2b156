"""Text from a scenario file or a recording is shown as it is written, never run as markup,
and no control character reaches the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradtui.events import Diagnosis, LayerInfo, RunFailed, RunStarted, StepStats
from gradtui.recording import Recorder, read_recording
from gradtui.scenario.spec import discover
from gradtui.ui.app import GradApp
from gradtui.ui.screens.picker import PickerScreen
from tests.ui.conftest import wait_for

SIZE = (160, 50)
CLICK = "[@click=app.screenshot('x','y')]Click[/]"
LINK = "[link=file:///etc/passwd]x[/link]"
CODE = "x = self.attn[i](h)"
CLIPBOARD = "\x1b]52;c;aGVsbG8=\x07"  # OSC 52: set the clipboard
CLEAR = "\x1b[2J"
# Pieces without spaces, so a wrapped line still holds each whole.
LITERAL = (CLICK, LINK, "[/]", "self.attn[i](h)")


def evil(label: str) -> str:
    return f"{label} {CLICK} {LINK} [/] {CODE}{CLIPBOARD}{CLEAR}"


def screen_lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def assert_literal(app, *pieces: str) -> None:
    shown = "\n".join(screen_lines(app))
    for piece in pieces:
        assert piece in shown, f"{piece!r} not shown as written"
    assert "\x1b" not in shown and "\x07" not in shown


@pytest.fixture
def no_actions(monkeypatch, tmp_path: Path) -> list[tuple]:
    """Work in an empty folder, and record any screenshot action instead of running it."""
    monkeypatch.chdir(tmp_path)
    calls: list[tuple] = []
    monkeypatch.setattr(GradApp, "action_screenshot", lambda self, *a: calls.append(a))
    return calls


async def click_everywhere_on(pilot, piece: str) -> None:
    """Click each cell of each line that shows piece: a parsed @click would run there."""
    for y, line in enumerate(screen_lines(pilot.app)):
        start = line.find(piece)
        if start >= 0:
            for x in range(start, start + len(piece)):
                await pilot.click(offset=(x, y))


async def test_the_picker_shows_a_scenario_files_text_as_written(
    tmp_path: Path, no_actions: list[tuple]
) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    title = f"{CLICK} {LINK} [/]"
    lesson = evil("lesson").replace("\x1b", "\\u001b").replace("\x07", "\\u0007")
    (folder / "evil.toml").write_text(
        f'name = "evil"\ntitle = """{title}"""\nlesson = "{lesson}"\n'
        "[model]\ndepth = 2\nwidth = 4\n",
        encoding="utf-8",
    )
    app = GradApp(catalog=discover([folder]), make_source=lambda *_: None)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, PickerScreen)
        await pilot.press(*"evil")
        await pilot.pause(0.1)
        assert_literal(app, *LITERAL)
        await click_everywhere_on(pilot, "Click[/]")
        await pilot.pause(0.1)
        assert isinstance(app.screen, PickerScreen)
    assert no_actions == [] and list(Path.cwd().iterdir()) == [folder]


def evil_recording(path: Path) -> list:
    layers = tuple(
        LayerInfo(name, "Linear", i, 10)
        for i, name in enumerate((f"{CLICK}{CLIPBOARD}", "[/]", f"{LINK}{CLEAR}"))
    )
    with Recorder(path) as record:
        record(RunStarted("evil", evil("title"), evil("lesson"), {}, layers, ("a", "b", "c"), 0, 4))
        for step in range(3):
            norms = (1.0, 0.5, 0.25)
            record(StepStats(step, 1.0, 1.0, None, norms, (0,) * 3, (2.0,) * 3, (1e-3,) * 3, norms))
        record(
            Diagnosis("custom", "warning", 1, ("[/]",), evil("message"), evil("why"), evil("fix"))
        )
        record(RunFailed(3, f"Boom{CLEAR}", evil("error"), evil("trace")))
    return read_recording(path).events


async def test_a_recordings_text_is_shown_as_written_on_the_dashboard(
    tmp_path: Path, no_actions: list[tuple]
) -> None:
    events = evil_recording(tmp_path / "evil.jsonl")
    app = GradApp(catalog=discover([]), replays=[events], speed=None)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: app.screen.feeds[0].history.ended)
        await pilot.pause(0.3)
        toasts = [n.message for n in app._notifications]
        assert "WARNING custom: [/]" in toasts  # the layer named [/], in a toast on screen
        assert "WARNING custom: [/]" in "\n".join(screen_lines(app))
        assert all("\x1b" not in n.message + n.title for n in app._notifications)
        assert not any(n.markup for n in app._notifications)
        assert_literal(app, *LITERAL, "Boom\\x1b[2J")  # the escape made visible
        app.clear_notifications()
        await pilot.pause(0.1)
        await click_everywhere_on(pilot, "Click[/]")
        await pilot.pause(0.1)
    assert no_actions == [] and list(Path.cwd().iterdir()) == [tmp_path / "evil.jsonl"]


async def test_a_recordings_text_is_shown_as_written_side_by_side(
    tmp_path: Path, no_actions: list[tuple]
) -> None:
    events = evil_recording(tmp_path / "evil.jsonl")
    app = GradApp(catalog=discover([]), replays=[events, events], speed=None)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: all(f.history.ended for f in app.screen.feeds))
        await pilot.pause(0.3)
        app.clear_notifications()
        await pilot.pause(0.1)
        assert_literal(app, CLICK, "[/]")
        await click_everywhere_on(pilot, "Click[/]")
    assert no_actions == []
