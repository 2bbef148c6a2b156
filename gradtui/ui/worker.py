"""The training worker: a separate process that runs the engine and ships events in batches.

This module is imported by the UI (for `worker_main`'s name) and by the spawned child; torch is
imported only inside `worker_main`, in the child. The UI and the worker share a few numbers in
shared memory (the controls) and two queues: commands in, event batches out.
"""

from __future__ import annotations

import os
import queue
import signal
import stat
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from gradtui.events import Event, RunFailed, StepStats, failed_run

# Indices into the shared controls array (doubles; each written by one side only).
GENERATION = 0  # UI: bumped to abandon the current run (restart, quit)
QUIT = 1  # UI: 1 ends the process
PAUSED = 2  # UI: 1 while paused
STEP_REQUESTS = 3  # UI: count of single steps asked for while paused
SPEED = 4  # UI: steps per second, 0 = as fast as possible
LIMIT = 5  # UI: the worker may not emit more step events than this (lock step)
CONTROLS = 6

FLUSH_SECONDS = 1 / 30  # a batch goes out at least this often while steps flow
BATCH_EVENTS = 64  # and at most this many events a batch: small pickles, short queue
PARENT_CHECK_S = 0.5  # how often the worker checks that the dashboard is still there
LOG_LIMIT = 1 << 20  # the log starts afresh past this many bytes


def log_path() -> str:
    """The worker's log: private to this user ($XDG_STATE_HOME or ~/.local/state, in a folder
    only the user can enter), never a shared path in the temporary folder."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(base, "gradtui", "worker.log")


def _open_log() -> Any:
    """The log opened for appending, refusing a link or a file of another user."""
    path = log_path()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
        os.close(fd)
        raise PermissionError(f"{path} is not this user's regular file")
    if info.st_size > LOG_LIMIT:
        os.ftruncate(fd, 0)
    return os.fdopen(fd, "a", encoding="utf-8")


class Gate:
    """Paces the engine's emits: pause, single steps, speed, lock step; batches events out."""

    def __init__(self, out: Any, controls: Any, generation: int) -> None:
        self.out = out
        self.controls = controls
        self.generation = generation
        self.steps = 0
        self.buffer: list[Event] = []
        self._consumed = controls[STEP_REQUESTS]
        self._next_at = 0.0
        self._flushed_at = time.monotonic()

    def should_stop(self) -> bool:
        return self.controls[GENERATION] != self.generation or self.controls[QUIT] != 0

    def emit(self, event: Event) -> None:
        if isinstance(event, StepStats):
            self._wait_turn()
            self.steps += 1
        self.buffer.append(event)
        now = time.monotonic()
        if (
            not isinstance(event, StepStats)
            or len(self.buffer) >= BATCH_EVENTS
            or now - self._flushed_at >= FLUSH_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        self._flushed_at = time.monotonic()
        if not self.buffer:
            return
        batch, self.buffer = self.buffer, []
        while not self.should_stop():
            try:
                self.out.put((self.generation, batch), timeout=0.1)
                return
            except queue.Full:
                continue

    def _wait_turn(self) -> None:
        """Return when this step may go out; waiting in short naps so stop stays prompt."""
        controls = self.controls
        while not self.should_stop():
            if controls[PAUSED]:
                if controls[STEP_REQUESTS] > self._consumed and self.steps < controls[LIMIT]:
                    self._consumed += 1
                    return
                nap = 0.01
            else:
                self._consumed = controls[STEP_REQUESTS]
                now = time.monotonic()
                speed = controls[SPEED]
                if self.steps >= controls[LIMIT]:
                    nap = 0.004
                elif speed > 0 and now < self._next_at:
                    nap = min(self._next_at - now, 0.02)
                else:
                    if speed > 0:
                        self._next_at = max(self._next_at, now - 0.1) + 1 / speed
                    return
            # Before a real wait, send what is buffered; between fast paced steps, keep batching.
            if nap >= 0.004 or time.monotonic() - self._flushed_at >= FLUSH_SECONDS:
                self.flush()
            time.sleep(nap)


def worker_main(commands: Any, out: Any, controls: Any) -> None:
    """Child process: run each (generation, spec) command until told to quit (None)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal's ctrl+c belongs to the UI
    _exit_with_parent()
    out.cancel_join_thread()  # never hang at exit on batches the UI will not read
    _silence_output()
    run = _import_engine()
    while True:
        command = commands.get()
        if command is None or controls[QUIT]:
            # Nothing left to flush or save: skip the interpreter's slow teardown of torch.
            os._exit(0)
        generation, spec = command
        gate = Gate(out, controls, generation)
        if run is None:
            gate.emit(_failed(0, ImportError("the training engine (torch) could not be loaded")))
        else:
            try:
                run(spec, gate.emit, gate.should_stop)
            except Exception as exc:  # our own bug: report it as a failed run, log the traceback
                _log_traceback()
                gate.emit(_failed(gate.steps, exc))
        gate.flush()


def _exit_with_parent() -> None:
    """End this process when the dashboard's does, however it ended (even SIGKILL): a thread
    waits on multiprocessing's parent sentinel (a pipe that closes when the parent dies) and
    also checks that the parent id has not changed."""
    import multiprocessing
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    parent_pid = os.getppid()
    sentinel = parent.sentinel if parent is not None else None

    def watch() -> None:
        while True:
            if sentinel is not None:
                if wait([sentinel], timeout=PARENT_CHECK_S):
                    os._exit(0)
            else:
                time.sleep(PARENT_CHECK_S)
            if os.getppid() != parent_pid:
                os._exit(0)

    threading.Thread(target=watch, name="gradtui-parent-watch", daemon=True).start()


def _import_engine() -> Callable | None:
    try:
        from gradtui.scenario.entry import load_trainer

        return load_trainer()
    except Exception:
        _log_traceback()
        return None


def _failed(step: int, exc: BaseException) -> RunFailed:
    return failed_run(step, exc, see=str(log_path()))


def _silence_output() -> None:
    """Stray prints or warnings from the child would scribble over the dashboard."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def _log_traceback() -> None:
    try:
        with _open_log() as log:
            log.write(traceback.format_exc())
    except OSError:
        pass  # no log is better than a worker that dies writing one
