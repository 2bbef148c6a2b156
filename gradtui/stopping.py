"""SIGINT, SIGTERM and SIGHUP end a run cleanly: the recording gets its end event.

Two ways to stop, for the two drivers (no torch here; both import this, not each other):

- ``StopSignals(wait=True)``, for our own training loop (``gradtui run``): a signal only sets
  ``received``; the loop sees it before its next step and ends the run with
  ``RunFinished(stopped=True)``. A second signal stops at once.
- ``StopSignals(wait=False)``, for ``gradtui.watch`` in a user's loop, which we cannot ask to
  stop: the signal sets ``received`` and then does what it would have done without us
  (KeyboardInterrupt for SIGINT; exit with status 128 + signal for SIGTERM and SIGHUP, as
  SystemExit so ``finally`` blocks and atexit run and the recording is closed with
  ``stopped: true``). A signal that lands while gradtui's own code runs (a hook, ``step``)
  is raised when that code returns (``raise_deferred``), so a step is never half-recorded.
  A handler the user installed first is called instead, and one set to ignore the signal
  still ignores it.

Handlers can only be installed from the main thread; elsewhere this does nothing.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


PACKAGE_DIR = str(Path(__file__).resolve().parent) + os.sep


class StopSignals:
    def __init__(self, wait: bool) -> None:
        self.wait = wait
        self.received: int | None = None  # the first stop signal, once one came
        self.deferred: int | None = None  # came while our own code ran: raised at its end
        self._previous: dict[int, Any] = {}

    def install(self) -> StopSignals:
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in STOP_SIGNALS:
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except (ValueError, OSError):  # not allowed here (an embedded interpreter, say)
                continue
        return self

    def uninstall(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, previous in self._previous.items():
            try:
                if signal.getsignal(signum) == self._handle:
                    signal.signal(signum, previous)
            except (ValueError, OSError, TypeError):
                continue
        self._previous.clear()

    def __enter__(self) -> StopSignals:
        return self.install()

    def __exit__(self, *_: object) -> None:
        self.uninstall()

    @property
    def exit_status(self) -> int:
        """128 + the signal, as a shell reports a process stopped by it; 0 without one."""
        return 128 + self.received if self.received is not None else 0

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous.get(signum, signal.SIG_DFL)
        if previous is signal.SIG_IGN:
            return
        first = self.received is None
        if isinstance(getattr(previous, "__self__", None), StopSignals):  # another run's
            self.received = self.received or signum
            previous(signum, frame)
            return
        if callable(previous) and previous is not signal.default_int_handler:
            previous(signum, frame)  # the user's own handler decides; the run may go on
            return
        if first:
            self.received = signum
            if self.wait:
                return
            if _inside_gradtui(frame):  # never unwind our own code half-way through a step
                self.deferred = signum
                return
        _raise_for(signum)

    def raise_deferred(self) -> None:
        """Raise the stop a signal asked for while our code ran (call where that code ends)."""
        signum, self.deferred = self.deferred, None
        if signum is not None:
            _raise_for(signum)


def _raise_for(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


def _inside_gradtui(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith(PACKAGE_DIR):
            return True
        frame = frame.f_back
    return False
