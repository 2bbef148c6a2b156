"""``gradtui learn``: the course over the picker; escape from the course reaches the picker."""

from __future__ import annotations

from typing import Any

from textual import events

from gradtui.learn.progress import Progress
from gradtui.ui.app import GradApp
from gradtui.ui.screens.course import CourseScreen
from gradtui.ui.screens.picker import PickerScreen


class LearnApp(GradApp):
    def __init__(
        self, *args: Any, seed: int | None = None, progress: Progress | None = None, **kwargs: Any
    ) -> None:
        """seed: every experiment at this data seed; progress: where ticks are kept."""
        super().__init__(*args, **kwargs)
        self.course_seed = seed
        self.progress = progress

    def on_mount(self, event: events.Mount) -> None:
        event.prevent_default()  # GradApp's own mount would stack the picker over the course
        self.push_screen(PickerScreen(self.catalog))
        self.push_screen(CourseScreen(self.progress, seed=self.course_seed))
