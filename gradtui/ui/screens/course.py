"""The course: the notes' ten practice items, in order, with the ones done ticked."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from gradtui.learn.course import LESSONS, Lesson
from gradtui.learn.progress import Progress
from gradtui.scenario.spec import ScenarioSpec
from gradtui.ui.screens.handprop import HandpropScreen
from gradtui.ui.screens.lesson import lesson_screen
from gradtui.ui.widgets.footer import FittingFooter


class CourseScreen(Screen[None]):
    DEFAULT_CSS = """
    #course-title { height: 1; padding: 0 1; background: $panel; }
    #lessons { height: 1fr; border: round $primary-darken-1; padding: 0 1; }
    #course-question { height: auto; padding: 0 1; border: round $secondary-darken-2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Start the lesson", priority=True),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, progress: Progress | None = None, seed: int | None = None, **kwargs):
        """seed: run every experiment at this data seed (default: each scenario's own)."""
        super().__init__(**kwargs)
        self.progress = progress or Progress()
        self.seed = seed

    def compose(self) -> ComposeResult:
        yield Static(id="course-title")
        yield OptionList(id="lessons")
        yield Static(id="course-question")
        yield FittingFooter()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.refill()

    def on_screen_resume(self) -> None:
        self.refill()  # a lesson may have been done meanwhile

    def refill(self) -> None:
        options = self.query_one(OptionList)
        highlighted = options.highlighted or 0
        options.clear_options()
        for lesson in LESSONS:
            done = lesson.number in self.progress.done
            line = Text()
            line.append("✓ " if done else "  ", "green bold")
            line.append(f"{lesson.number:>2}. ", "bold")
            line.append(lesson.title)
            options.add_option(Option(line, id=str(lesson.number)))
        options.highlighted = highlighted
        count = len(self.progress.done)
        self.query_one("#course-title", Static).update(
            Text.assemble(
                ("gradtui · learn", "bold"),
                f" · the notes' ten practice items · {count} of {len(LESSONS)} done",
            )
        )
        self.show_question(highlighted)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show_question(event.option_index)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.open(LESSONS[event.option_index])

    def show_question(self, index: int) -> None:
        lesson = LESSONS[index]
        text = Text()
        text.append(lesson.question + "\n", "bold")
        text.append(lesson.look)
        self.query_one("#course-question", Static).update(text)

    def action_open(self) -> None:
        index = self.query_one(OptionList).highlighted
        if index is not None:
            self.open(LESSONS[index])

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()

    def open(self, lesson: Lesson) -> None:
        if not lesson.runs(self._resolve):
            self.app.push_screen(HandpropScreen(on_finish=self.progress.mark))
            return
        specs = [self._seeded(spec) for spec in lesson.runs(self._resolve)]
        app = self.app
        sources = [app.make_source(spec, app.speed) for spec in specs]  # type: ignore[attr-defined]
        app.push_screen(lesson_screen(lesson, sources, self.progress.mark))

    def _resolve(self, name: str) -> ScenarioSpec:
        return self.app.catalog.scenarios[name][0]  # type: ignore[attr-defined]

    def _seeded(self, spec: ScenarioSpec) -> ScenarioSpec:
        return spec if self.seed is None else spec.with_overrides(seed=self.seed)
