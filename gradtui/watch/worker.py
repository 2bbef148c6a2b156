"""The writer thread: what the training thread need not wait for.

The monitor hands each event to a ``Worker``, which runs ``consume`` on it (the diagnosis
rules, logging, the recording, ``on_event``; or, for the writer process, sending batches of
events to it) on its own thread, in the order they were handed over. Handing over never
blocks: past ``capacity`` events waiting, ``put`` refuses a step and the monitor leaves it
out (and says so in the recording).

An exception inside ``consume`` stops the consuming and is kept in ``error``: the monitor
looks at it from the training thread, where taking its hooks away is safe.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

# Events waiting in the queue hold their per-layer tuples: keep about this many values.
QUEUED_VALUES = 200_000
MAX_QUEUED = 1024
# The thread wakes when this many events wait, or this often: waking it for every event
# would hand it the GIL in the middle of every training step.
WAKE_AT = 32
WAKE_SECONDS = 0.1
_STOP = object()


def capacity_for(layers: int) -> int:
    """Events that may wait: about ``QUEUED_VALUES`` per-layer values, 8 to ``MAX_QUEUED``."""
    return max(8, min(MAX_QUEUED, QUEUED_VALUES // (8 * max(1, layers))))


class Worker:
    """``batches``: ``consume`` takes a list of the events waiting (up to a ``drain``), not
    one event at a time."""

    def __init__(
        self, consume: Callable[[Any], None], capacity: int = MAX_QUEUED, batches: bool = False
    ) -> None:
        self.capacity = capacity
        self.error: Exception | None = None
        self._consume = consume
        self._batches = batches
        self._items: deque = deque()  # appends and pops from two threads are atomic
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gradtui-watch", daemon=True)
        self._thread.start()

    def put(self, event: Any, force: bool = False) -> bool:
        """Queue ``event``; False (and nothing queued) when ``capacity`` events already wait,
        unless ``force``."""
        waiting = len(self._items)
        if waiting >= self.capacity and not force:
            return False
        self._items.append(event)
        if waiting + 1 == WAKE_AT:
            self._wake.set()
        return True

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every event handed over so far has been consumed."""
        if not self._thread.is_alive():
            return True
        done = threading.Event()
        self._items.append(done)
        self._wake.set()
        return done.wait(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Consume what is queued, then stop the thread."""
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._items.append(_STOP)
            self._wake.set()
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait(WAKE_SECONDS)
            self._wake.clear()
            while self._items:
                item = self._items.popleft()
                if item is _STOP:
                    return
                if isinstance(item, threading.Event):
                    item.set()
                elif self.error is None:
                    try:
                        self._consume(self._batch_from(item) if self._batches else item)
                    except Exception as exc:
                        self.error = exc
                    time.sleep(0)  # let the training thread have the GIL back, if it waits

    def _batch_from(self, first: Any) -> list[Any]:
        batch, items = [first], self._items
        while items and items[0] is not _STOP and not isinstance(items[0], threading.Event):
            batch.append(items.popleft())
        return batch
