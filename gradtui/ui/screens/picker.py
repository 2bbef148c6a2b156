"""Choose a scenario: filter by typing, enter to launch, space to mark two for compare."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from gradtui.scenario.spec import Catalog, ScenarioSpec


def matches(words: list[str], *fields: str) -> bool:
    haystack = " ".join(fields).lower()
    return all(word in haystack for word in words)


def match_rank(words: list[str], *fields: str) -> int | None:
    """How early ``fields`` match: 0 when the first field alone holds every word, 1 when the
    first two do, and so on; None when even all of them together do not."""
    return next((i for i in range(len(fields)) if matches(words, *fields[: i + 1])), None)


def spec_summary(spec: ScenarioSpec) -> str:
    m, t = spec.model, spec.train
    extras = [f"clip {t.clip_grad_norm:g}" if t.clip_grad_norm else "", "residual" * m.residual]
    extras += [f"norm {m.norm}" if m.norm != "none" else "", f"init {m.init}"]
    shown = ", ".join(e for e in extras if e and e != "init default")
    return (
        f"{m.depth} blocks × {m.width} wide, {m.activation}; {t.optimizer} lr {t.lr:g}, "
        f"{t.steps} steps, batch {t.batch}" + (f"; {shown}" if shown else "")
    )


class PickerScreen(Screen):
    # The list keeps the focus; letters that are not a live binding go to the filter.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "launch", "Launch", priority=True),
        Binding("space", "mark", "Mark to compare"),
        Binding("c", "compare", "Compare marked"),
        Binding("up", "move(-1)", show=False, priority=True),
        Binding("down", "move(1)", show=False, priority=True),
        Binding("pageup", "move(-8)", show=False, priority=True),
        Binding("pagedown", "move(8)", show=False, priority=True),
        Binding("escape", "clear", "Clear filter"),
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(self, catalog: Catalog, **kwargs) -> None:
        super().__init__(**kwargs)
        self.catalog = catalog
        self.marked: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("[b]gradtui[/b] · watch backpropagation — pick a scenario", id="picker-title")
        yield Input(placeholder="type to filter by name, title or lesson", id="filter")
        yield OptionList(id="scenarios")
        yield Static(id="lesson")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Input).can_focus = False
        self.query_one(OptionList).focus()
        self.refill()

    def on_key(self, event: events.Key) -> None:
        """Type to filter: printable keys that no binding took, and backspace."""
        bound = self.app.active_bindings.get(event.key)
        if bound is not None and bound.enabled:
            return  # a live binding takes it
        box = self.query_one(Input)
        if event.key == "backspace":
            box.value = box.value[:-1]
        elif event.is_printable and event.character and event.character != " ":
            box.value += event.character
        else:
            return
        event.stop()

    @property
    def filter_text(self) -> str:
        return self.query_one(Input).value

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Letters belong to the filter once typing has started.
        if action in ("quit", "compare") and self.filter_text:
            return False
        if action == "clear" and not self.filter_text:
            return False
        return not (action == "compare" and len(self.marked) != 2)

    def refill(self) -> None:
        options = self.query_one(OptionList)
        highlighted = self._highlighted_name()
        words = self.filter_text.lower().split()
        options.clear_options()
        # Names that match come first, then titles, then lessons: typing a scenario's name
        # finds that scenario before the ones whose lesson mentions it.
        found = [
            (rank, name, spec)
            for name, (spec, _path) in self.catalog.scenarios.items()
            if (rank := match_rank(words, name, spec.title, spec.lesson)) is not None
        ]
        for _rank, name, spec in sorted(found, key=lambda item: item[:2]):
            options.add_option(Option(self._prompt(name, spec), id=name))
        for skipped in self.catalog.skipped:
            if matches(words, skipped.path.name, skipped.reason):
                prompt = Text.assemble(("✗ ", "red"), (skipped.path.name, "bold"))
                prompt.append(f"  {_reason(skipped.reason, skipped.path.name)}", style="italic")
                options.add_option(Option(prompt, id=f"invalid:{skipped.path}", disabled=True))
        self.refresh_bindings()  # q, c and escape depend on the filter and the marks
        names = [o.id for o in options.options if not o.disabled]
        if names:
            options.highlighted = options.get_option_index(
                highlighted if highlighted in names else names[0]
            )
        self.show_lesson()

    def _prompt(self, name: str, spec: ScenarioSpec) -> Text:
        mark = ("◆ ", "bold magenta") if name in self.marked else ("  ", "")
        return Text.assemble(mark, (f"{name:<22}", "bold"), " ", (spec.title, ""))

    def _highlighted_name(self) -> str | None:
        options = self.query_one(OptionList)
        if options.highlighted is None or options.option_count == 0:
            return None
        option = options.get_option_at_index(options.highlighted)
        return None if option.disabled else option.id

    def show_lesson(self) -> None:
        name = self._highlighted_name()
        lesson = self.query_one("#lesson", Static)
        if name is None:
            invalid = any(o.disabled for o in self.query_one(OptionList).options)
            why = "; greyed-out files cannot be loaded (the reason is beside each)"
            lesson.update(f"[dim]no valid scenario matches the filter{why * invalid}[/dim]")
            return
        spec = self.catalog.scenarios[name][0]
        marked = f"\n[magenta]marked: {', '.join(self.marked)}[/]" if self.marked else ""
        lesson.update(
            Text.from_markup(f"[b]{spec.title}[/b]  [dim]{spec_summary(spec)}[/dim]\n")
            + Text(" ".join(spec.lesson.split()))
            + Text.from_markup(marked)
        )

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.refill()

    def on_option_list_option_highlighted(self, _event: OptionList.OptionHighlighted) -> None:
        self.show_lesson()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id and not event.option.disabled:
            self.app.open_scenarios([event.option.id])

    def action_move(self, delta: int) -> None:
        options = self.query_one(OptionList)
        enabled = [i for i, o in enumerate(options.options) if not o.disabled]
        if not enabled:
            return
        current = options.highlighted if options.highlighted in enabled else enabled[0]
        position = enabled.index(current) + delta
        options.highlighted = enabled[max(0, min(len(enabled) - 1, position))]

    def action_launch(self) -> None:
        if len(self.marked) == 2:
            self.action_compare()
            return
        name = self._highlighted_name()
        if name is not None:
            self.app.open_scenarios([name])

    def action_mark(self) -> None:
        name = self._highlighted_name()
        if name is None:
            return
        if name in self.marked:
            self.marked.remove(name)
        else:
            self.marked = [*self.marked[-1:], name]
        self.refill()

    def action_compare(self) -> None:
        if len(self.marked) == 2:
            self.app.open_scenarios(list(self.marked))

    async def action_quit(self) -> None:
        await self.app.action_quit()

    def action_help(self) -> None:
        self.app.action_help()

    def action_clear(self) -> None:
        self.query_one(Input).value = ""

    def mark_only(self, name: str | None) -> None:
        self.marked = [name] if name in self.catalog.scenarios else []
        self.refill()


def _reason(reason: str, filename: str) -> str:
    """The reason without the path it starts with (the file name is shown beside it)."""
    _head, sep, rest = reason.partition(f"{filename}: ")
    return rest if sep else reason
