"""Where a dashboard's events come from: a live run in a worker process, or a recording.

Both sources answer the same controls (pause, one step, speed, restart, a lock-step limit) and
hand the UI thread the events that arrived since the last tick. No torch here.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import queue
import sys
import time
from collections.abc import Callable
from multiprocessing import resource_tracker

from gradtui.diagnosis.failure import WORKER_EXITED
from gradtui.events import Event, RunFailed, RunStarted, StepStats
from gradtui.scenario.spec import ScenarioSpec
from gradtui.ui.worker import (
    CONTROLS,
    GENERATION,
    LIMIT,
    PAUSED,
    QUIT,
    SPEED,
    STEP_REQUESTS,
    log_path,
    worker_main,
)

# Bounded: about a second of batches. The UI absorbs ~10,000 steps/s; only a run faster than
# that fills it, and then the worker waits for the screen instead of memory growing.
QUEUE_BATCHES = 32
UNLIMITED = float(2**53)
POLL_BUDGET_S = 0.05  # at most this long absorbing per tick, so keys and drawing still run
CHUNK_BATCHES = 4  # batches a LiveSource hands over per poll (a feed polls until its budget)
CHUNK_EVENTS = 256  # events a replay at full speed hands over per poll


class Source:
    """Controls common to both sources. speed: steps per second, None = as fast as possible."""

    live = False
    scenario = ""  # the scenario's name, known before its first event

    def __init__(self, speed: float | None) -> None:
        self.speed = speed
        self.paused = False
        self.limit = UNLIMITED

    def start(self) -> None: ...
    def poll(self, budget_s: float = POLL_BUDGET_S) -> list[Event]: ...
    def restart(self) -> None: ...
    def close(self) -> None: ...
    def signal_stop(self) -> None:
        """Ask to stop without waiting (so several sources stop at once); close() waits."""

    def step_once(self) -> None: ...

    def silent_seconds(self) -> float | None:
        """How long a run that should be writing has said nothing; None when that is normal."""
        return None

    def shown_every(self) -> int:
        """1, or N when the source is behind its writer and shows only every Nth step."""
        return 1

    def set_paused(self, paused: bool) -> None:
        self.paused = paused

    def set_speed(self, speed: float | None) -> None:
        self.speed = speed

    def set_limit(self, limit: float | None) -> None:
        """Allow at most this many step events in total (lock step); None lifts the limit."""
        self.limit = UNLIMITED if limit is None else limit


class LiveSource(Source):
    """Trains a scenario in a spawned worker process (torch is unsafe to fork)."""

    live = True

    def __init__(
        self, spec: ScenarioSpec, speed: float | None = None, target: Callable = worker_main
    ) -> None:
        """target: the worker's entry point (the benchmark passes one without torch)."""
        super().__init__(speed)
        self.spec = spec
        self.scenario = spec.name
        self.target = target
        _ensure_resource_tracker()
        self._context = mp.get_context("spawn")
        self.controls = self._context.RawArray("d", CONTROLS)
        self.controls[LIMIT] = UNLIMITED
        self.set_speed(speed)
        self._closed = False
        self._steps = 0
        self._new_process()

    def _new_process(self) -> None:
        """Fresh queues and a fresh (not yet started) worker, sharing the controls."""
        self.commands = self._context.Queue()
        self.events = self._context.Queue(maxsize=QUEUE_BATCHES)
        self.process = self._context.Process(
            target=self.target,
            args=(self.commands, self.events, self.controls),
            name=f"gradtui-train-{self.spec.name}",
            daemon=True,
        )
        self._death_reported = False

    def start(self) -> None:
        """Start the worker and its run; a started (or closed) source ignores a second call."""
        if self.process.pid is not None or self._closed:
            return
        self.process.start()
        self._send_run()

    def _send_run(self) -> None:
        self.commands.put((int(self.controls[GENERATION]), self.spec))

    def poll(self, budget_s: float = POLL_BUDGET_S) -> list[Event]:
        """A few batches at most: the feed calls again while its tick has time left."""
        events: list[Event] = []
        generation = self.controls[GENERATION]
        deadline = time.monotonic() + budget_s
        for _ in range(CHUNK_BATCHES):
            if time.monotonic() > deadline:
                break
            try:
                batch_generation, batch = self.events.get_nowait()
            except (queue.Empty, OSError, ValueError):
                break
            if batch_generation == generation:
                events.extend(batch)
        self._steps += sum(isinstance(event, StepStats) for event in events)
        if not events and self._worker_died():
            events.append(self._death_notice())
        return events

    def _worker_died(self) -> bool:
        """The worker only exits when told to: any other exit is a crash (killed, out of
        memory, a fault in native code) and is reported once, as a failed run."""
        if self._closed or self._death_reported or self.process.pid is None:
            return False
        return self.process.exitcode is not None

    def _death_notice(self) -> RunFailed:
        self._death_reported = True
        return RunFailed(
            step=self._steps,
            error_type=WORKER_EXITED,
            message=f"the training process ended unexpectedly (exit code "
            f"{self.process.exitcode}); press r to start a new one (log: {log_path()})",
        )

    def set_paused(self, paused: bool) -> None:
        super().set_paused(paused)
        self.controls[PAUSED] = 1.0 if paused else 0.0

    def step_once(self) -> None:
        self.controls[STEP_REQUESTS] += 1

    def set_speed(self, speed: float | None) -> None:
        super().set_speed(speed)
        self.controls[SPEED] = 0.0 if speed is None else float(speed)

    def set_limit(self, limit: float | None) -> None:
        super().set_limit(limit)
        self.controls[LIMIT] = self.limit

    def restart(self) -> None:
        self.controls[GENERATION] += 1  # the running loop stops at its next step
        self._steps = 0
        if self.process.pid is not None and not self.process.is_alive() and not self._closed:
            self._replace_dead_worker()
            return
        self._send_run()

    def _replace_dead_worker(self) -> None:
        """The worker died (killed, out of memory): start a new one for the restart."""
        self.process.join(0)
        for channel in (self.events, self.commands):
            channel.cancel_join_thread()
            channel.close()
        self._new_process()
        self.start()

    def signal_stop(self) -> None:
        if self.controls[QUIT]:
            return
        self.controls[QUIT] = 1.0
        self.controls[GENERATION] += 1
        if self.process.pid is not None:
            with contextlib.suppress(ValueError, OSError):
                self.commands.put(None)

    def close(self, timeout_s: float = 0.4) -> None:
        """Stop the worker; within a second even if it is busy importing torch."""
        self.signal_stop()
        if self.process.pid is None or self._closed:
            return
        self._closed = True
        self.process.join(timeout_s)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(0.3)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(0.2)
        for channel in (self.events, self.commands):
            channel.cancel_join_thread()
            channel.close()

    @property
    def alive(self) -> bool:
        return self.process.is_alive()


def _ensure_resource_tracker() -> None:
    """Start multiprocessing's helper with the real stderr: under Textual, sys.stderr is a
    capture object without a file descriptor, and the helper cannot start from there."""
    saved = sys.stderr
    sys.stderr = sys.__stderr__ or saved
    try:
        resource_tracker.ensure_running()
    finally:
        sys.stderr = saved


class ReplaySource(Source):
    """Plays back recorded events at the chosen speed, with the same controls as a live run."""

    def __init__(self, events: list[Event], speed: float | None = None) -> None:
        super().__init__(speed)
        self.recorded = events
        first = events[0] if events else None
        self.scenario = first.scenario if isinstance(first, RunStarted) else ""
        self.cursor = 0
        self.steps = 0
        self._credits = 0
        self._allowance = 0.0
        self._last_poll: float | None = None

    def start(self) -> None:
        self._last_poll = time.monotonic()

    def reopened(self) -> ReplaySource:
        """The same recording from its start, for a new screen."""
        return ReplaySource(self.recorded, self.speed)

    def restart(self) -> None:
        self.cursor = self.steps = 0
        self._allowance = 0.0
        self._last_poll = time.monotonic()

    def step_once(self) -> None:
        if self.paused:
            self._credits += 1

    def poll(self, budget_s: float = POLL_BUDGET_S) -> list[Event]:
        now = time.monotonic()
        elapsed = now - (self._last_poll or now)
        self._last_poll = now
        if self.paused:
            allowed = self._credits
        elif self.speed is None:
            allowed = CHUNK_EVENTS  # the feed asks again while its tick has time left
        else:
            self._allowance = min(self._allowance + elapsed * self.speed, self.speed + 1)
            allowed = math.floor(self._allowance)
        allowed = int(min(allowed, self.limit - self.steps))
        out: list[Event] = []
        while self.cursor < len(self.recorded):
            event = self.recorded[self.cursor]
            if isinstance(event, StepStats):
                if allowed <= 0:
                    break
                allowed -= 1
                self.steps += 1
                if self.paused:
                    self._credits -= 1
                elif self.speed is not None:
                    self._allowance -= 1
            self.cursor += 1
            out.append(event)
        return out


def speed_label(speed: float | None) -> str:
    return "max" if speed is None else f"{speed:g}/s"
