"""The help wraps to its box (no hard line breaks inside a paragraph) and says how to move."""

from __future__ import annotations

from textual.widgets import Static

from gradtui.ui.screens.help import HELP, HelpScreen
from tests.ui.conftest import wait_for


def test_paragraphs_are_single_lines_for_textual_to_wrap() -> None:
    paragraphs = [p for p in HELP.split("\n\n") if not p.startswith("[b]Keys")]
    assert len(paragraphs) >= 8 and all("\n" not in p for p in paragraphs)
    assert "page up / page down and the mouse wheel" in HELP


def test_it_says_how_to_move_focus_and_scroll() -> None:
    for words in ("tab and shift+tab move the focus", "mouse wheel", "the arrows"):
        assert words in HELP


async def test_the_help_wraps_inside_a_narrow_terminal(make_app, recorded_events) -> None:
    app = make_app(replays=[recorded_events["relu_deep"]], speed=None)
    async with app.run_test(size=(60, 30)) as pilot:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = app.screen.query_one("#help-text", Static)
        assert text.size.width <= 60 and text.size.height > HELP.count("\n")
