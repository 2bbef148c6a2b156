"""The Textual app: the picker at the bottom of the screen stack, runs pushed on top of it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from gradtui.events import Event
from gradtui.scenario.spec import Catalog, ScenarioSpec, discover
from gradtui.text import safe_line
from gradtui.ui.feed import DEFAULT_SPEED, RunFeed
from gradtui.ui.follow_source import FollowSource
from gradtui.ui.screens.compare import CompareScreen
from gradtui.ui.screens.dashboard import DashboardScreen
from gradtui.ui.screens.help import HelpScreen
from gradtui.ui.screens.own import ConfirmLeave, OpenRecording
from gradtui.ui.screens.picker import PickerScreen
from gradtui.ui.screens.runscreen import RunScreen
from gradtui.ui.settings import save_theme, saved_theme
from gradtui.ui.sources import LiveSource, ReplaySource, Source


class GradApp(App[None]):
    CSS_PATH = "gradtui.tcss"
    TITLE = "gradtui"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]
    # Closed as by q: the runs stop, recordings get their end event, the terminal is restored.
    QUIT_SIGNALS: ClassVar[tuple[int, ...]] = (signal.SIGTERM, signal.SIGHUP)
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-short"), (32, "-tall")]

    def __init__(
        self,
        catalog: Catalog | None = None,
        start: Sequence[ScenarioSpec] = (),
        replays: Sequence[list[Event]] = (),
        speed: float | None = DEFAULT_SPEED,
        make_source: Callable[[ScenarioSpec, float | None], Source] = LiveSource,
        own_runs: bool = False,
    ) -> None:
        """catalog: the picker's scenarios (discovered when None); start: open these at once
        (two side by side); replays: recorded runs to show instead; make_source: how a scenario
        becomes a run (a worker process; tests pass a replay); own_runs: the runs are the
        user's files (replay, attach): no picker, leaving asks first, compare asks for a file."""
        super().__init__()
        self.own_runs = own_runs
        self.toasts = True  # a one-line notification for each new warning or error
        self.catalog = catalog if catalog is not None else discover()
        self.speed = speed
        self.make_source = make_source
        self._start = list(start)
        self._replays = list(replays)
        self.quit_by_signal: int | None = None  # the signal that closed the app, if one did
        self._saved_theme = saved_theme()
        if self._saved_theme in self.available_themes:
            self.theme = self._saved_theme

    def on_load(self) -> None:
        """SIGTERM and SIGHUP quit as q does, instead of killing the app mid-frame."""
        loop = asyncio.get_running_loop()
        for signum in self.QUIT_SIGNALS:
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                loop.add_signal_handler(signum, self._quit_on_signal, signum)

    def _quit_on_signal(self, signum: int) -> None:
        if self.quit_by_signal is None:
            self.quit_by_signal = signum
            self.call_later(self.action_quit)

    def watch_theme(self, theme: str) -> None:
        """The theme picked (palette: Change theme) is the theme of the next start too."""
        if theme != self._saved_theme:
            self._saved_theme = theme
            save_theme(theme)

    def on_mount(self) -> None:
        if not self.own_runs:
            self.push_screen(PickerScreen(self.catalog))
        if self._start:
            self.open_sources([self.make_source(spec, self.speed) for spec in self._start])
        elif self._replays:
            self.open_sources([ReplaySource(events, self.speed) for events in self._replays])

    def open_scenarios(self, names: Iterable[str]) -> None:
        specs = [self.catalog.scenarios[name][0] for name in names]
        self.open_sources([self.make_source(spec, self.speed) for spec in specs])

    def open_sources(self, sources: list[Source]) -> None:
        feeds = [RunFeed(source) for source in sources]
        screen = DashboardScreen(feeds[0]) if len(feeds) == 1 else CompareScreen(feeds)
        self.push_screen(screen)

    def leave_run(self) -> None:
        """Back to the picker; from a user's own run (no picker), ask, then quit."""
        if not self.own_runs:
            self.pop_screen()
            return

        async def answered(leave: bool | None) -> None:
            if leave:
                await self.action_quit()

        self.push_screen(ConfirmLeave(), answered)

    def compare_with_file(self, screen: RunScreen) -> None:
        """Ask for a recording, then show it beside the run on screen (played from its start)."""

        def chosen(path: Path | None) -> None:
            if path is None:
                return
            sources = [feed.source.reopened() for feed in screen.feeds]
            sources.append(FollowSource(path, self.speed))
            self.switch_screen(CompareScreen([RunFeed(source) for source in sources]))

        self.push_screen(OpenRecording(), chosen)

    def pick_partner(self, scenario: str | None) -> None:
        """Back to the picker with this run marked: mark one more to compare."""
        self.pop_screen()
        picker = self.screen
        if isinstance(picker, PickerScreen):
            picker.mark_only(scenario)
            self.notify("Mark a second scenario with space, then press c again to compare.")

    def open_course(self) -> None:
        from gradtui.ui.screens.course import CourseScreen

        self.push_screen(CourseScreen())

    def save_screen(self) -> None:
        """An SVG of the screen in the working directory (a browser gets it as a download);
        the notification says where."""
        if self.is_web:
            self.deliver_screenshot()
            return
        try:
            path = Path(self.save_screenshot(path=os.getcwd())).resolve()
        except OSError as exc:
            reason = safe_line(exc.strerror or exc, 200)
            self.notify(f"cannot save the screenshot: {reason}", severity="error", markup=False)
            return
        self.notify(f"Saved {safe_line(path, 300)}", title="Screenshot", markup=False)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """Stop every worker first (all at once), then leave: well within a second."""
        screens = [s for s in self.screen_stack if isinstance(s, RunScreen)]
        for screen in screens:
            for feed in screen.feeds:
                feed.source.signal_stop()
        for screen in screens:
            screen.close_feeds()
        self.exit()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title != "Screenshot":
                yield command
        yield SystemCommand(
            "Screenshot",
            "Save an SVG of this screen in the working directory",
            lambda: self.set_timer(0.1, self.save_screen),
        )
        yield SystemCommand("Help", "What each panel shows, and the keys", self.action_help)
        yield SystemCommand("Learn", "The course: the notes' ten practice items", self.open_course)
        if isinstance(screen, PickerScreen):
            for name, (spec, _path) in self.catalog.scenarios.items():
                yield SystemCommand(
                    f"Launch {name}", safe_line(spec.title), partial(self.open_scenarios, [name])
                )
        if isinstance(screen, RunScreen):
            run_commands = (
                ("Pause / resume", "space", screen.action_toggle_pause),
                ("One step", "n: advance one step while paused", screen.action_step),
                ("Restart", "r: run the scenario again from step 0", screen.action_restart),
                ("Faster", "+: more steps per second", screen.action_faster),
                ("Slower", "-: fewer steps per second", screen.action_slower),
                (
                    "Notifications on / off",
                    "t: a line for each new warning",
                    screen.action_toggle_toasts,
                ),
                (
                    "Back",
                    "escape: to the picker (from a file: quit, after asking)",
                    screen.action_back,
                ),
            )
            for title, help_text, callback in run_commands:
                yield SystemCommand(title, help_text, callback)
            if isinstance(screen, DashboardScreen):
                yield SystemCommand(
                    "Compare", "c: pick a run to show beside this one", screen.action_compare
                )
