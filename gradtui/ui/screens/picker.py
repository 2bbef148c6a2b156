"""Choose a scenario: type to filter, enter to launch, space to mark two for compare.

The filter box keeps the focus, so every key reaches it in the order it was typed, pastes
included. While it is empty, q, ?, space and c are commands; once it holds text, every
printable key is part of it. Enter acts on what the filter shows after every key before it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from gradtui.scenario.spec import Catalog, ScenarioSpec
from gradtui.text import safe_line
from gradtui.ui.phrases import Phrases
from gradtui.ui.screens.picking import course_key, match_rank, matches, summary_phrases
from gradtui.ui.widgets.footer import FittingFooter

# Keys that are commands while the filter is empty (as the screen's bindings say), else text.
PLACEHOLDERS = (
    "type to filter by name, title or lesson (space between words)",
    "type to filter (space between words)",
    "type to filter",
)
COMMAND_KEYS = {"q": "quit", "question_mark": "help", "space": "mark", "c": "compare"}


class FilterInput(Input):
    """The filter: a command key on an empty filter runs its action instead of being typed;
    the arrows move in the list (an Input would scroll itself)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "screen.launch", "Launch", key_display="⏎"),
        Binding("up", "screen.move(-1)", show=False),
        Binding("down", "screen.move(1)", show=False),
        Binding("pageup", "screen.move(-8)", show=False),
        Binding("pagedown", "screen.move(8)", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(placeholder=PLACEHOLDERS[0], select_on_focus=False, **kwargs)
        self.cursor_blink = False

    def on_resize(self, event: events.Resize) -> None:
        """The longest placeholder that fits, never one cut mid-phrase."""
        fits = [p for p in PLACEHOLDERS if len(p) <= event.size.width] or PLACEHOLDERS[-1:]
        self.placeholder = fits[0]

    def _is_command(self, key: str) -> bool:
        return key in COMMAND_KEYS and not self.value and self.screen.takes_command(key)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """A command key is not text (so the footer shows its binding)."""
        return not self._is_command(key) and super().check_consume_key(key, character)

    async def _on_key(self, event: events.Key) -> None:
        action = COMMAND_KEYS.get(event.key)
        if action and self._is_command(event.key):
            # Run here, in the order the keys came: a binding would see the key later.
            event.stop()
            event.prevent_default()
            await self.screen.run_action(action)
            return
        await super()._on_key(event)


class ScenarioList(OptionList):
    """The scenarios. Never focused (the filter is) and binds no key of its own; a click
    highlights a row and shows its lesson, a double click launches it."""

    can_focus = False
    inherit_bindings = False
    BINDINGS: ClassVar[list[BindingType]] = []

    async def _on_click(self, event: events.Click) -> None:
        event.prevent_default()  # OptionList's own handler would launch on a single click
        index = event.style.meta.get("option")
        if index is None or self.get_option_at_index(index).disabled:
            return
        self.highlighted = index
        if event.chain >= 2:
            self.action_select()


class PickerScreen(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "launch", "Launch", key_display="⏎"),
        Binding("space", "mark", "Mark to compare"),
        Binding("c", "compare", "Compare marked"),
        Binding("up", "move(-1)", show=False),
        Binding("down", "move(1)", show=False),
        Binding("pageup", "move(-8)", show=False),
        Binding("pagedown", "move(8)", show=False),
        Binding("escape", "clear", "Clear filter"),
        Binding("escape", "clear_marks", "Clear marks"),
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(self, catalog: Catalog, **kwargs) -> None:
        super().__init__(**kwargs)
        self.catalog = catalog
        self.marked: list[str] = []
        self._filled_for: str | None = None

    def compose(self) -> ComposeResult:
        title = Text.assemble(("gradtui", "bold"), " · watch backpropagation — pick a scenario")
        yield Static(title, id="picker-title")
        yield FilterInput(id="filter")
        yield ScenarioList(id="scenarios")
        yield Static(id="lesson")
        yield FittingFooter()

    def on_mount(self) -> None:
        self.query_one(FilterInput).focus()
        self.refill()

    def on_screen_resume(self) -> None:
        self.query_one(FilterInput).focus()

    @property
    def filter_text(self) -> str:
        return self.query_one(FilterInput).value

    def takes_command(self, key: str) -> bool:
        """Whether a command key on the empty filter is a command now (c only with two marked)."""
        return key != "c" or len(self.marked) == 2

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear":
            return bool(self.filter_text)
        if action == "clear_marks":
            return bool(self.marked) and not self.filter_text
        if action == "compare":
            return len(self.marked) == 2
        return True

    def sync(self) -> None:
        """Refill the list if the filter changed since it was last filled, so an action
        always sees what the filter says now, whatever messages are still on their way."""
        if self._filled_for != self.filter_text:
            self.refill()

    def refill(self) -> None:
        options = self.query_one(ScenarioList)
        highlighted = self._highlighted_name()
        self._filled_for = self.filter_text
        words = self.filter_text.lower().split()
        options.clear_options()
        # Names that match come first, then titles, then lessons; each in the course's order.
        found = [
            (rank, course_key(spec), name, spec)
            for name, (spec, _path) in self.catalog.scenarios.items()
            if (rank := match_rank(words, name, spec.title, spec.lesson)) is not None
        ]
        for *_key, name, spec in sorted(found, key=lambda item: item[:3]):
            # A Rich renderable (not Text) keeps the prompt's no_wrap: one row, cut with "…".
            options.add_option(Option(Group(self._prompt(name, spec)), id=name))
        for skipped in self.catalog.skipped:
            if matches(words, skipped.path.name, skipped.reason):
                filename = safe_line(skipped.path.name, 60)
                prompt = Text.assemble(("✗ ", "red"), (filename, "bold"))
                reason = safe_line(_reason(skipped.reason, skipped.path.name), 300)
                prompt.append(f"  {reason}", style="italic")
                options.add_option(Option(prompt, id=f"invalid:{skipped.path}", disabled=True))
        self.refresh_bindings()  # c and escape depend on the filter and the marks
        names = [o.id for o in options.options if not o.disabled]
        if names:
            options.highlighted = options.get_option_index(
                highlighted if highlighted in names else names[0]
            )
        self.show_lesson()

    def _prompt(self, name: str, spec: ScenarioSpec) -> Text:
        mark = ("◆ ", "bold magenta") if name in self.marked else ("  ", "")
        fix = "↳ " if course_key(spec)[1] else ""
        label = f"{fix}{safe_line(name, 40)}"
        prompt = Text.assemble(mark, (f"{label:<24}", "bold"), " ", (safe_line(spec.title), ""))
        prompt.no_wrap, prompt.overflow = True, "ellipsis"  # one row each: never a cut phrase
        return prompt

    def _highlighted_name(self) -> str | None:
        options = self.query_one(ScenarioList)
        if options.highlighted is None or options.option_count == 0:
            return None
        option = options.get_option_at_index(options.highlighted)
        return None if option.disabled else option.id

    def show_lesson(self) -> None:
        name = self._highlighted_name()
        lesson = self.query_one("#lesson", Static)
        if name is None:
            invalid = any(o.disabled for o in self.query_one(ScenarioList).options)
            why = "; greyed-out files cannot be loaded (the reason is beside each)"
            lesson.update(Text(f"no valid scenario matches the filter{why * invalid}", "dim"))
            return
        spec = self.catalog.scenarios[name][0]
        head = [(safe_line(spec.title), "bold", "  ")]
        head += [(phrase, "dim", sep) for phrase, sep in summary_phrases(spec)]
        parts: list[RenderableType] = [Phrases(head), Text(safe_line(spec.lesson, 2000))]
        if self.marked:
            marked = " and ".join(safe_line(n, 40) for n in self.marked)
            hint = "c compares them" if len(self.marked) == 2 else "mark one more to compare"
            words = [f"marked: {marked}", f"({hint};", "escape clears)"]
            parts.append(Phrases([(w, "magenta", " ") for w in words]))
        lesson.update(Group(*parts))

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.sync()

    def on_option_list_option_highlighted(self, _event: OptionList.OptionHighlighted) -> None:
        self.show_lesson()

    def on_option_list_option_selected(self, _event: OptionList.OptionSelected) -> None:
        self.action_launch()

    def action_move(self, delta: int) -> None:
        self.sync()
        options = self.query_one(ScenarioList)
        enabled = [i for i, o in enumerate(options.options) if not o.disabled]
        if not enabled:
            return
        current = options.highlighted if options.highlighted in enabled else enabled[0]
        position = enabled.index(current) + delta
        options.highlighted = enabled[max(0, min(len(enabled) - 1, position))]

    def action_launch(self) -> None:
        """Run the highlighted row, whatever is marked."""
        self.sync()
        name = self._highlighted_name()
        if name is not None:
            self.app.open_scenarios([name])

    def action_mark(self) -> None:
        self.sync()
        name = self._highlighted_name()
        if name is None:
            return
        if name in self.marked:
            self.marked.remove(name)
        elif len(self.marked) == 2:
            self.notify(
                f"{self.marked[0]} and {self.marked[1]} are marked: c compares them, "
                "escape clears the marks.",
                title="two marked already",
                markup=False,
            )
            return
        else:
            self.marked.append(name)
        self.refill()

    def action_compare(self) -> None:
        if len(self.marked) == 2:
            pair, self.marked = list(self.marked), []
            self.refill()
            self.app.open_scenarios(pair)

    def action_clear_marks(self) -> None:
        self.marked = []
        self.refill()

    async def action_quit(self) -> None:
        await self.app.action_quit()

    def action_help(self) -> None:
        self.app.action_help()

    def action_clear(self) -> None:
        self.query_one(FilterInput).value = ""
        self.sync()

    def mark_only(self, name: str | None) -> None:
        """Back from a run to pick its partner: that run marked, the filter empty."""
        self.marked = [name] if name in self.catalog.scenarios else []
        self.query_one(FilterInput).value = ""
        self.refill()


def _reason(reason: str, filename: str) -> str:
    """The reason without the path it starts with (the file name is shown beside it)."""
    _head, sep, rest = reason.partition(f"{filename}: ")
    return rest if sep else reason
