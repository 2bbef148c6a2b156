"""A run as the UI thread sees it: a source of events and the history they build, per tick."""

from __future__ import annotations

import time
from collections.abc import Sequence

from gradtui.ui.history import RunHistory
from gradtui.ui.sources import POLL_BUDGET_S, Source

# Steps per second the speed keys step through; None = as fast as possible.
SPEEDS: tuple[float | None, ...] = (1, 2, 5, 10, 25, 50, 100, 250, 1000, None)
DEFAULT_SPEED: float | None = 25


class RunFeed:
    def __init__(self, source: Source, shown: bool = True) -> None:
        self.source = source
        self.shown = shown  # see RunHistory.shown
        self.history = RunHistory(live=source.live, shown=shown)
        self._started = False

    def start(self) -> None:
        """Start the source; a second call does nothing (restart() runs it again)."""
        if not self._started:
            self._started = True
            self.source.start()

    def pump(self, budget_s: float = POLL_BUDGET_S) -> bool:
        """Absorb what arrived since the last tick, for at most budget_s (what is left waits
        for the next tick, bounded by the source); True when anything arrived."""
        deadline = time.monotonic() + budget_s
        arrived = False
        while time.monotonic() < deadline:
            events = self.source.poll(max(0.0, deadline - time.monotonic()))
            if not events:
                break
            arrived = True
            for event in events:
                self.history.absorb(event)
        self.history.mark_rate()
        return arrived

    def restart(self) -> None:
        self.source.restart()
        self.history = RunHistory(live=self.source.live, shown=self.shown)

    def close(self) -> None:
        self.source.close()


def next_speed(speed: float | None, direction: int) -> float | None:
    """The neighbouring speed level (direction +1 faster, -1 slower), clamped at the ends."""
    try:
        index = SPEEDS.index(speed)
    except ValueError:
        index = SPEEDS.index(DEFAULT_SPEED)
    return SPEEDS[max(0, min(len(SPEEDS) - 1, index + direction))]


def lock_step(feeds: Sequence[RunFeed]) -> None:
    """Keep runs side by side: none gets more than a short lead ahead of a run still going."""
    speed = feeds[0].source.speed
    lead = 64 if speed is None else max(2, int(speed * 0.25))
    for feed in feeds:
        others = [f.history.steps_seen for f in feeds if f is not feed and not f.history.ended]
        feed.source.set_limit(min(others) + lead if others else None)
