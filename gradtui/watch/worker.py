"""The writer thread: what the training thread need not wait for.

The monitor hands each event to a ``Worker``, which runs ``consume`` on it (the diagnosis
rules, logging, the recording, ``on_event``) on its own thread, one event at a time, in the
order they were handed over. Handing over never blocks: past ``capacity`` events waiting,
``put`` refuses a step and the monitor leaves it out (and says so in the recording).

An exception inside ``consume`` stops the consuming and is kept in ``error``: the monitor
looks at it from the training thread, where taking its hooks away is safe.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

# Events waiting in the queue hold their per-layer tuples: keep about this many values.
QUEUED_VALUES = 200_000
MAX_QUEUED = 1024
_STOP = object()


def capacity_for(layers: int) -> int:
    """Events that may wait: about ``QUEUED_VALUES`` per-layer values, 8 to ``MAX_QUEUED``."""
    return max(8, min(MAX_QUEUED, QUEUED_VALUES // (8 * max(1, layers))))


class Worker:
    def __init__(self, consume: Callable[[Any], None], capacity: int = MAX_QUEUED) -> None:
        self.capacity = capacity
        self.error: Exception | None = None
        self._consume = consume
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="gradtui-watch", daemon=True)
        self._thread.start()

    def put(self, event: Any, force: bool = False) -> bool:
        """Queue ``event``; False (and nothing queued) when ``capacity`` events already wait,
        unless ``force``."""
        if not force and self._queue.qsize() >= self.capacity:
            return False
        self._queue.put(event)
        return True

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every event handed over so far has been consumed."""
        if not self._thread.is_alive():
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Consume what is queued, then stop the thread."""
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._queue.put(_STOP)
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, threading.Event):
                item.set()
            elif self.error is None:
                try:
                    self._consume(item)
                except Exception as exc:
                    self.error = exc
