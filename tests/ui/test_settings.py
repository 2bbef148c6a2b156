"""Settings and start-up: the theme survives a restart (a broken settings file changes
nothing), the palette's screenshot lands in the working directory, no scale before data."""

from __future__ import annotations

import json
from pathlib import Path

from gradtui.ui.app import GradApp
from gradtui.ui.settings import settings_path


async def test_the_chosen_theme_survives_a_restart(_own_settings: Path) -> None:
    app = GradApp()
    async with app.run_test() as pilot:
        assert app.theme == "textual-dark"
        app.theme = "textual-light"
        await pilot.pause()
    assert settings_path().is_relative_to(_own_settings)
    assert json.loads(settings_path().read_text())["theme"] == "textual-light"
    again = GradApp()
    async with again.run_test() as pilot:
        await pilot.pause()
        assert again.theme == "textual-light" and again.current_theme.dark is False


async def test_a_broken_or_unknown_setting_is_ignored(_own_settings: Path) -> None:
    settings_path().parent.mkdir(parents=True)
    for text in ("{not json", '{"theme": "no-such-theme"}', '["textual-light"]'):
        settings_path().write_text(text)
        app = GradApp()
        async with app.run_test() as pilot:
            await pilot.pause()
            assert app.theme == "textual-dark"


async def test_the_palettes_screenshot_lands_in_the_working_directory(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = GradApp()
    async with app.run_test() as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert titles.count("Screenshot") == 1
        app.save_screen()
        await pilot.pause()
        saved = list(tmp_path.glob("*.svg"))
        assert len(saved) == 1
        shown = [n.message for n in app._notifications]
        assert any(str(saved[0].resolve()) in message for message in shown)


def test_no_sparkline_scale_before_the_first_step(recorded_events) -> None:
    from gradtui.ui.history import RunHistory
    from gradtui.ui.widgets.layers import LayersTable

    history = RunHistory()
    events = recorded_events["relu_deep"]
    history.absorb(events[0])  # run_started only
    panel = LayersTable()
    panel.history = history
    assert panel.scale_label() == ""
    history.absorb(events[1])
    assert panel.scale_label().startswith("sparkline: log10")
