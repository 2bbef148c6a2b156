"""One line at the top of a run: its state, what it is, how far it got, how fast, the speed.

The title takes whatever room the other parts leave, so a narrow header (one side of compare)
cuts the title, never the step, the rate or the speed.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from gradtui.text import safe_line
from gradtui.ui.history import RunHistory
from gradtui.ui.palette import palette_of
from gradtui.ui.sources import speed_label

STATE_ROLE = {  # each state's words and its palette role
    "starting": ("… starting", "warning"),
    "running": ("▶ running", "ok"),
    "paused": ("‖ paused", "warning"),
    "finished": ("■ finished", "info"),
    "stopped": ("■ stopped", "info"),
    "diverged": ("■ stopped: loss non-finite", "error"),
    "failed": ("✖ failed", "error"),
    "silent": ("? silent", "warning"),
}
STARTING = "starting the run (a live run loads PyTorch first: a few seconds)…"


class RunHeader(Widget):
    DEFAULT_CSS = "RunHeader { height: 1; background: $panel; }"

    def __init__(self, name: str = "", **kwargs) -> None:
        """name: a label that says which run this is (compare's A and B)."""
        super().__init__(**kwargs)
        self.label = name
        self._parts: tuple = ()
        self._text = Text()
        self.short_title = ""  # what tells this run from the others, where the title is cut

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())

    def show(
        self,
        history: RunHistory,
        paused: bool,
        speed: float | None,
        silent_s: float | None = None,
        every: int = 1,
    ) -> None:
        """silent_s: how long a writer that should be writing has said nothing (attach);
        every: N when the screen is behind the writer and shows only every Nth step."""
        started = history.started
        title = safe_line(started.title, 120) if started else STARTING
        state = "paused" if paused and not history.ended and started else history.state
        if silent_s is not None and not history.ended:
            state = "silent"
        total = f"/{history.total_steps}" if history.total_steps else ""
        if silent_s is not None and not history.ended:
            rate = (f" no new step for {silent_s:.0f} s: has the writer stopped? ", "warning")
        elif every > 1:
            rate = (f" behind the writer: showing every {ordinal(every)} step ", "warning")
        elif history.live:
            measured = history.steps_per_second()
            still = history.ended or state == "paused" or not started
            rate = (f" {'—' if measured is None or still else f'{measured:.0f}'} steps/s ", "dim")
        else:
            rate = (" replay ", "dim")
        parts = (state, title, f" step {history.steps_seen}{total} ", rate, speed_label(speed))
        if parts != self._parts:
            self._parts = parts
            self.refresh()

    def render(self) -> Text:
        self._text = self._compose_text(self.size.width)
        return self._text

    def _compose_text(self, width: int) -> Text:
        if not self._parts:
            return Text()
        state, title, step, (rate, rate_style), speed = self._parts
        palette = palette_of(self)
        label, role = STATE_ROLE[state]
        style = palette.fg(role, bold=state != "starting")
        rate_style = palette.fg("warning" if rate_style == "warning" else "muted")
        name = f" {self.label} " if self.label else ""
        fixed = [
            (f" {label} ", style),
            (name, "reverse bold"),
            (step, ""),
            (rate, rate_style),
            (f" speed {speed} ", palette.fg("muted")),
        ]
        if sum(len(part) for part, _ in fixed) > width - 8:  # narrow: the short forms
            fixed[0] = (f" {label[0]} ", style)
            fixed[3] = (
                ("", "") if rate == " replay " else (rate.replace(" steps/s", "/s"), rate_style)
            )
            fixed[4] = (f" {speed} ", palette.fg("muted"))
        room = max(0, width - sum(len(part) for part, _ in fixed) - 2)
        if len(title) > room and self.short_title:
            title = self.short_title
        shown = title if len(title) <= room else (title[: room - 1] + "…" if room > 1 else "")
        text = Text(no_wrap=True, overflow="ellipsis")
        for part, part_style in fixed[:2]:
            text.append(part, style=part_style)
        if shown:
            text.append(f" {shown} ", style="bold")
        for part, part_style in fixed[2:]:
            text.append(part, style=part_style)
        return text


def ordinal(n: int) -> str:
    """2nd, 4th, 32nd, 111th: how the header says which steps it shows."""
    tens = n % 100
    suffix = "th" if 10 <= tens <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
