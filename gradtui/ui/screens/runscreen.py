"""What the dashboard and compare screens share: the run controls and the tick that draws.

A timer on the UI thread drains the sources about 15 times a second, feeds every event to the
histories, announces new diagnoses once, and redraws the visible panels in one batch update.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer

from gradtui.events import Diagnosis
from gradtui.text import safe_line
from gradtui.ui.feed import RunFeed, lock_step, next_speed
from gradtui.ui.widgets.diagnoses import kind_label

TICK_SECONDS = 1 / 10
SLOW_PANELS_EVERY = 3  # loss plot, heatmap and chain redraw every 3rd tick (about 3 Hz)
TOAST_SEVERITY = {"error": "error", "warning": "warning", "info": "information"}
RANK = {"info": 0, "warning": 1, "error": 2}
TOAST_WIDTH = 56  # characters: a toast is one line at the bottom right, above the footer
# A flood of findings (thousands in a recording) is a few toasts, then one line counting the
# rest: at most TOAST_BURST toasts per TOAST_WINDOW ticks (3 s), each about as long as a toast
# stays up, so the corner never stacks more than a handful. The Diagnoses panel lists them all.
TOAST_BURST = 3
TOAST_WINDOW = 30


class RunScreen(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_pause", "Pause"),
        Binding("n", "step", "Step"),
        Binding("r", "restart", "Restart"),
        Binding("plus,equals_sign", "faster", "Faster", key_display="+"),
        Binding("minus", "slower", "Slower", key_display="-"),
        Binding("escape", "back", "Back"),
        Binding("t", "toggle_toasts", "Toasts", show=False),
    ]
    # Steps a run may go ahead of the others at full speed: a few ticks' worth, so that runs
    # compared side by side stay side by side.
    LOCK_LEAD = 64

    def __init__(self, feeds: list[RunFeed], **kwargs) -> None:
        super().__init__(**kwargs)
        self.feeds = feeds
        self.paused = False
        self.ticks = 0
        self._ended = False  # every run has ended: the footer offers no pause or step
        self._told: dict[tuple[int, str], int] = {}  # (history, kind): the rank announced
        self._findings_seen: dict[int, tuple] = {}  # history serial: its findings_key
        self._ticker: Timer | None = None
        self._window_start = 0  # the tick the current toast window began
        self._toasted = 0  # toasts shown in the current window
        self._held = 0  # findings not toasted in it, summed up when it ends

    @property
    def speed(self) -> float | None:
        return self.feeds[0].source.speed

    def on_mount(self) -> None:
        self.start_runs()

    def start_runs(self) -> None:
        """Start the sources and the tick; once only, however often this is called."""
        if self._ticker is not None:
            return
        for feed in self.feeds:
            feed.start()
        if len(self.feeds) > 1:
            lock_step(self.feeds, self.LOCK_LEAD)
        self._ticker = self.set_interval(TICK_SECONDS, self.tick)
        self.redraw()

    def on_unmount(self) -> None:
        self.close_feeds()

    def close_feeds(self) -> None:
        for feed in self.feeds:
            feed.close()

    def tick(self) -> None:
        """Drain, absorb, announce, redraw: once per tick whatever the event rate."""
        self.ticks += 1
        for feed in self.feeds:
            feed.pump()
        if len(self.feeds) > 1:
            lock_step(self.feeds, self.LOCK_LEAD)
        for feed in self.feeds:
            self.announce_new(feed)
        ended = all(feed.history.ended for feed in self.feeds)
        self._summarise_held(now=ended)
        if ended != self._ended:
            self._ended = ended
            self.refresh_bindings()  # the footer follows check_action at once, not on a key
        if self.app.screen is self:
            quiet = self.paused or ended
            with self.app.batch_update():
                self.redraw(full=quiet or self.ticks % SLOW_PANELS_EVERY == 0)

    def announce_new(self, feed: RunFeed) -> None:
        """Announce each finding that is new, or more severe than when it was announced (a
        warning that became an error), in the form the Diagnoses panel shows."""
        history = feed.history
        fresh = history.take_unannounced()
        if not fresh and self._findings_seen.get(history.serial) == history.findings_key:
            return
        self._findings_seen[history.serial] = history.findings_key
        latest = {d.kind: d for d in fresh} | {d.kind: d for d in history.diagnoses()}
        for kind, diagnosis in latest.items():
            rank = RANK.get(diagnosis.severity, 0)
            if rank > self._told.get((history.serial, kind), 0):
                self._told[(history.serial, kind)] = rank
                self.announce(feed, diagnosis)

    def announce(self, feed: RunFeed, diagnosis: Diagnosis) -> None:
        """One line for a new warning or error (the Diagnoses panel explains it); infos and,
        with toasts turned off (t), everything stay in the panel only."""
        if diagnosis.severity == "info" or not self.app.toasts:
            return
        name = safe_line(feed.history.started.scenario, 40) if feed.history.started else ""
        prefix = f"{name}: " if len(self.feeds) > 1 else ""
        layers = diagnosis.layers
        where = ", ".join(safe_line(layer, 30) for layer in layers)
        if len(layers) > 2:
            where = f"{safe_line(layers[0], 30)} and {len(layers) - 1} more"
        line = f"{diagnosis.severity.upper()} {prefix}{kind_label(diagnosis)}"
        if not self._toast_allowed():
            self._held += 1
            return
        self.notify(
            safe_line(f"{line}: {where}" if where else line, TOAST_WIDTH),
            severity=TOAST_SEVERITY[diagnosis.severity],
            markup=False,
        )

    def _toast_allowed(self) -> bool:
        if self.ticks - self._window_start >= TOAST_WINDOW:
            self._summarise_held()
        if self._toasted >= TOAST_BURST:
            return False
        self._toasted += 1
        return True

    def _summarise_held(self, now: bool = False) -> None:
        """Once a window is over (or, now=True, the runs ended): one line for the findings it
        held back, and a new window."""
        if self.ticks - self._window_start < TOAST_WINDOW and not (now and self._held):
            return
        held, self._held = self._held, 0
        self._window_start, self._toasted = self.ticks, 0
        if held and self.app.toasts:
            self._toasted = 1
            more = f"{held} more finding{'s' if held > 1 else ''}: the Diagnoses panel lists all"
            self.notify(safe_line(more, TOAST_WIDTH), severity="warning", markup=False)

    def action_toggle_toasts(self) -> None:
        self.app.toasts = not self.app.toasts
        self.app.clear_notifications()
        state = "on" if self.app.toasts else "off (t turns them on)"
        self.notify(f"Notifications {state}", markup=False)

    def redraw(self, full: bool = True) -> None:
        """Push the histories into the visible panels; full=False skips the costly ones."""

    def action_toggle_pause(self) -> None:
        self.set_paused(not self.paused)

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        for feed in self.feeds:
            feed.source.set_paused(paused)
        self.redraw()

    def action_step(self) -> None:
        """One step: pauses first when running, so each press is exactly one step."""
        if not self.paused:
            self.set_paused(True)
            return
        for feed in self.feeds:
            feed.source.step_once()

    def action_restart(self) -> None:
        for feed in self.feeds:
            feed.restart()
        if len(self.feeds) > 1:
            lock_step(self.feeds, self.LOCK_LEAD)
        self.redraw()

    def action_faster(self) -> None:
        self.change_speed(+1)

    def action_slower(self) -> None:
        self.change_speed(-1)

    def change_speed(self, direction: int) -> None:
        speed = next_speed(self.speed, direction)
        for feed in self.feeds:
            feed.source.set_speed(speed)
        self.app.speed = speed
        self.redraw()

    def action_back(self) -> None:
        self.app.leave_run()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """An ended run has nothing to pause or step."""
        if action in ("toggle_pause", "step"):
            return not all(feed.history.ended for feed in self.feeds)
        return True
