"""Dialogs for a user's own runs (gradtui replay, gradtui attach): no picker behind them.

Leaving asks first, since the run cannot be reopened from inside the app; comparing asks for
a second recording rather than a built-in scenario.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from gradtui.text import safe_line


class ConfirmLeave(ModalScreen[bool]):
    """y or enter: quit gradtui; n or escape: stay on the run."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter,q", "answer(True)", "Quit"),
        Binding("n,escape", "answer(False)", "Stay"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog") as box:
            box.border_title = "Leave this run?"
            yield Static(
                Text(
                    "This run was opened from a file: leaving quits gradtui.\n"
                    "y or enter quits, n or escape stays."
                )
            )

    def action_answer(self, leave: bool) -> None:
        self.dismiss(leave)


class OpenRecording(ModalScreen[Path | None]):
    """Asks for the path of a recording to show beside the run; escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog") as box:
            box.border_title = "Compare with a recording"
            yield Static(Text("Path of a .jsonl recording to show beside this run:"))
            yield Input(placeholder="runs/other.jsonl", id="path")
            yield Static(id="problem")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        path = Path(event.value.strip()).expanduser()
        if not event.value.strip() or not path.is_file():
            problem = f"no such file: {safe_line(event.value, 100)}" if event.value else ""
            self.query_one("#problem", Static).update(Text(problem or "type a path", "red"))
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)
