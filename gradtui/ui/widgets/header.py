"""One line at the top of a run: what it is, how far it got, how fast, and its state."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from gradtui.ui.history import RunHistory
from gradtui.ui.sources import speed_label

STATE_STYLE = {
    "starting": ("… starting", "yellow"),
    "running": ("▶ running", "bold green"),
    "paused": ("‖ paused", "bold yellow"),
    "finished": ("■ finished", "bold cyan"),
    "stopped": ("■ stopped", "bold cyan"),
    "diverged": ("■ stopped: loss non-finite", "bold red"),
    "failed": ("✖ failed", "bold red"),
}


class RunHeader(Widget):
    DEFAULT_CSS = "RunHeader { height: 1; background: $panel; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._text = Text()

    def show(self, history: RunHistory, paused: bool, speed: float | None) -> None:
        started = history.started
        title = started.title if started else "starting the run…"
        state = "paused" if paused and not history.ended and started else history.state
        label, style = STATE_STYLE[state]
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {label} ", style=style)
        text.append(f" {title} ", style="bold")
        total = f"/{history.total_steps}" if history.total_steps else ""
        text.append(f" step {history.steps_seen}{total} ")
        if history.live:
            rate = history.steps_per_second()
            shown = "—" if rate is None or history.ended else f"{rate:.0f}"
            text.append(f" {shown} steps/s ", style="dim")
        else:
            text.append(" replay ", style="dim")
        text.append(f" speed {speed_label(speed)} ", style="dim")
        if text.plain != self._text.plain:
            self._text = text
            self.refresh()

    def render(self) -> Text:
        return self._text
