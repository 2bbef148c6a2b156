"""A lesson's experiment: the dashboard or compare screen, with the lesson's bar under it.

The bar asks the question, says what to look at (that panel is highlighted), shows the answer
on `a` (numbers from the runs on screen, through a RunDigest per run) and, for items 6-10,
a self-check answered with 1, 2 or 3.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from gradtui.events import Event
from gradtui.learn.course import Lesson
from gradtui.learn.digest import RunDigest
from gradtui.ui.feed import RunFeed
from gradtui.ui.screens.compare import CompareScreen
from gradtui.ui.screens.dashboard import DashboardScreen
from gradtui.ui.sources import POLL_BUDGET_S, Source

# The panel a lesson names, as each screen's selector finds it.
PANELS = {
    "layers": ("#layers-box", ".layers-box"),
    "loss": ("#loss", ".loss"),
    "diagnoses": ("#diag-box", ".diag-box"),
}


class DigestingSource:
    """A source whose events also go to a RunDigest on their way to the screen."""

    def __init__(self, source: Source, digest: RunDigest) -> None:
        self._source = source
        self.digest = digest

    def poll(self, budget_s: float = POLL_BUDGET_S) -> list[Event]:
        events = self._source.poll(budget_s)
        for event in events:
            self.digest.absorb(event)
        return events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)


class LessonBar(VerticalScroll):
    """The lesson's text under the experiment: as tall as it needs up to 14 rows (half the
    screen when it is short), and scrolled, never cut, when it needs more."""

    DEFAULT_CSS = """
    LessonBar { dock: bottom; height: auto; max-height: 14; padding: 0 1; margin-bottom: 1;
                border: round $warning; border-title-style: bold; scrollbar-size-vertical: 1;
                border-subtitle-color: $text-muted; }
    LessonBar > Static { height: auto; }
    /* margin: the footer docks at the bottom too, over the bar's last row */
    """

    def show(self, text: Text, top_line: str | None) -> None:
        """Show text, scrolled to its first line starting with top_line (None: the end)."""
        self.query_one(Static).update(text)
        self.call_after_refresh(self._scroll, text, top_line)

    def _scroll(self, text: Text, top_line: str | None) -> None:
        if top_line is None:
            self.scroll_end(animate=False)
        else:
            lines = text.wrap(self.app.console, max(1, self.scrollable_content_region.width))
            found = (i for i, line in enumerate(lines) if line.plain.startswith(top_line))
            self.scroll_to(y=next(found, 0), animate=False)
        more = self.max_scroll_y > 0
        self.border_subtitle = "scroll for more: mouse wheel, or tab then ↑ ↓" if more else ""


class LessonMixin:
    """What both lesson screens add: the bar, the highlight, the answer and the self-check."""

    LESSON_BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "answer", "Answer"),
        Binding("1", "choose(0)", show=False),
        Binding("2", "choose(1)", show=False),
        Binding("3", "choose(2)", show=False),
    ]

    def setup_lesson(self, lesson: Lesson, digests: list[RunDigest], on_done: Callable) -> None:
        self.lesson = lesson
        self.digests = digests
        self.on_done = on_done
        self.answer_text = ""
        self.choice: int | None = None

    def lesson_bar(self) -> LessonBar:
        bar = LessonBar(Static(id="lesson-bar"), id="lesson-box")
        bar.border_title = f"Lesson {self.lesson.number} · {self.lesson.title}"
        return bar

    def highlight(self, compare: bool) -> None:
        selector = PANELS[self.lesson.panel][1 if compare else 0]
        colour = self.app.theme_variables.get("warning", "yellow")  # type: ignore[attr-defined]
        for panel in self.query(selector):  # type: ignore[attr-defined]
            panel.add_class("lesson-focus")
            panel.styles.border = ("heavy", colour)  # inline: above the app's panel style
        self.show_bar()

    def action_answer(self) -> None:
        self.answer_text = self.lesson.answer(self.digests)
        if self.lesson.quiz is None:
            self.on_done(self.lesson.number)
        self.show_bar()

    def action_choose(self, index: int) -> None:
        quiz = self.lesson.quiz
        if quiz is None or not self.answer_text or index >= len(quiz.choices):
            return
        self.choice = index
        if index == quiz.correct:
            self.on_done(self.lesson.number)
        self.show_bar()

    def show_bar(self) -> None:
        """The question and where to look; then the answer, the self-check and its verdict,
        scrolled to the newest of them."""
        text = Text()
        text.append(self.lesson.question + "\n", "bold")
        text.append("Look at: ", "bold")
        text.append(self.lesson.look + "\n")
        if not self.answer_text:
            text.append("Press a for the answer, from the runs on screen.", "italic")
        else:
            text.append("Answer: ", "bold")
            text.append(self.answer_text + "\n")
            if self.lesson.quiz is not None:
                self.quiz_text(text)
        top = "" if not self.answer_text else "Answer:" if self.choice is None else None
        self.query_one(LessonBar).show(text, top)  # type: ignore[attr-defined]

    def quiz_text(self, text: Text) -> None:
        quiz = self.lesson.quiz
        text.append("Self-check: ", "bold")
        text.append(quiz.question + "\n")
        for index, choice in enumerate(quiz.choices):
            mark = "▶ " if index == self.choice else "  "
            text.append(f"{mark}{index + 1}. {choice}\n")
        if self.choice is not None:
            right = self.choice == quiz.correct
            text.append("Right. " if right else "Not quite. ", "green" if right else "red")
            text.append(quiz.reason)
        else:
            text.append("Press 1, 2 or 3.", "italic")


class LessonDashboard(LessonMixin, DashboardScreen):
    BINDINGS: ClassVar[list[BindingType]] = LessonMixin.LESSON_BINDINGS

    def compose(self) -> ComposeResult:
        yield self.lesson_bar()
        yield from super().compose()

    def on_mount(self) -> None:
        self.highlight(compare=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A lesson is not compared with another run: c would only leave it."""
        if action == "compare":
            return False
        return super().check_action(action, parameters)


class LessonCompare(LessonMixin, CompareScreen):
    BINDINGS: ClassVar[list[BindingType]] = LessonMixin.LESSON_BINDINGS

    def compose(self) -> ComposeResult:
        yield self.lesson_bar()
        yield from super().compose()

    def on_mount(self) -> None:
        self.highlight(compare=True)


def lesson_screen(
    lesson: Lesson, sources: list[Source], on_done: Callable[[int], None]
) -> LessonDashboard | LessonCompare:
    digests = [RunDigest() for _ in sources]
    feeds = [
        RunFeed(DigestingSource(source, digest))  # type: ignore[arg-type]
        for source, digest in zip(sources, digests, strict=True)
    ]
    screen = LessonDashboard(feeds[0]) if len(feeds) == 1 else LessonCompare(feeds)
    screen.setup_lesson(lesson, digests, on_done)
    return screen
