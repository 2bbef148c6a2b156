"""Follow a recording in a thread, holding a bounded backlog of events not yet shown. No torch.

A writer can outpace the screen (a replay at 25 steps/s behind a loop at 5,000 steps/s, or a
finished 100,000-step file): what was read but not shown waits in a Backlog of at most
``bound`` events. When it is full, step events are thinned to every Nth (N doubles each time);
every other event (the start, findings, marks, the end) is kept, and so is the latest step. Once
the screen has caught up, N halves again. Only a backlog full of events that are not steps
makes the reader wait, and then the file waits on disk, not in memory.
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path

from gradtui.events import Event, StepStats
from gradtui.recording.follow import Follower
from gradtui.recording.parser import RecordingError

BACKLOG_EVENTS = 2048  # a few MB of events at most: seconds of a fast writer, minutes of a slow one
IDLE_S = 0.1  # how long the reader sleeps when the file has not grown


class Backlog:
    """Events waiting to be shown, at most ``bound``, step events thinned to every Nth."""

    def __init__(self, bound: int = BACKLOG_EVENTS) -> None:
        self.bound = max(4, bound)
        self.every = 1  # the stride of the step events kept
        self._events: deque[tuple[int, Event]] = deque()  # (arrival number, event)
        self._arrivals = 0  # steps offered so far, kept or not
        self._latest: tuple[int, Event] | None = None  # the newest step, when thinning dropped it
        self._steps = 0  # step events held

    def __len__(self) -> int:
        return len(self._events)

    @property
    def full(self) -> bool:
        """No room even after thinning: every held event is one that is always kept."""
        return len(self._events) >= self.bound and self._steps <= 1

    def add(self, event: Event) -> None:
        if not isinstance(event, StepStats):
            self.settle()  # in order: the step a finding (or the end) came after is shown first
            self._events.append((-1, event))
            return
        number, self._arrivals = self._arrivals, self._arrivals + 1
        if number % self.every:
            self._latest = (number, event)
            return
        self._latest = None
        self._events.append((number, event))
        self._steps += 1
        self._trim()

    def settle(self) -> None:
        """The reader has nothing new: the newest step joins the backlog even off the stride."""
        if self._latest is not None:
            self._events.append(self._latest)
            self._steps += 1
            self._latest = None
            self._trim()

    def take(self, limit: int) -> list[Event]:
        """Up to ``limit`` of the oldest events; a drained backlog thins less from then on."""
        taken = [self._events.popleft() for _ in range(min(limit, len(self._events)))]
        self._steps -= sum(number >= 0 for number, _ in taken)
        if self.every > 1 and len(self._events) < self.bound // 4:
            self.every //= 2
        return [event for _, event in taken]

    def clear(self) -> None:
        self._events.clear()
        self._latest = None
        self._arrivals = 0
        self._steps = 0
        self.every = 1

    def _trim(self) -> None:
        while len(self._events) > self.bound and self._steps > 1:
            self._thin()

    def _thin(self) -> None:
        """Double the stride: drop every other held step, counting back from the newest (which
        stays); every event that is not a step stays."""
        self.every *= 2
        steps = [i for i, (number, _) in enumerate(self._events) if number >= 0]
        dropped = set(steps[-2::-2])
        self._events = deque(item for i, item in enumerate(self._events) if i not in dropped)
        self._steps -= len(dropped)


class FollowReader:
    """Reads and parses a followed file in a daemon thread; the UI takes bounded batches."""

    def __init__(self, path: Path, bound: int = BACKLOG_EVENTS) -> None:
        self.follower = Follower(path)
        self.backlog = Backlog(bound)
        self.failure = ""  # why the file cannot be followed; the reader stopped
        self._restarted = False
        self._warnings: list[str] = []
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gradtui-follow", daemon=True)

    def start(self) -> None:
        if self._thread.ident is None:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._room:
            self._room.notify_all()

    def take(self, limit: int) -> tuple[bool, list[Event]]:
        """(the file restarted since the last take, up to ``limit`` events in order)."""
        with self._room:
            restarted, self._restarted = self._restarted, False
            events = self.backlog.take(limit)
            self._room.notify_all()
        return restarted, events

    def take_warnings(self) -> list[str]:
        """Warnings about skipped lines not taken before."""
        with self._lock:
            warnings, self._warnings = self._warnings, []
        return warnings

    @property
    def every(self) -> int:
        return self.backlog.every

    def read_once(self) -> bool:
        """One poll of the file into the backlog (the thread's loop; tests call it directly);
        True when anything was read."""
        try:
            events = self.follower.poll()
        except RecordingError as exc:
            self.failure = str(exc)
            self._stop.set()
            return False
        warnings = self.follower.take_warnings()
        with self._room:
            self._warnings.extend(warnings)
            if self.follower.restarted:
                self.backlog.clear()
                self._restarted = True
            for event in events:
                while self.backlog.full and not self._stop.is_set():
                    self._room.wait(IDLE_S)
                self.backlog.add(event)
            if not events:
                self.backlog.settle()
        return bool(events)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.read_once():
                self._stop.wait(IDLE_S)
