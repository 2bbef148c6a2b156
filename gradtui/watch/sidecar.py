"""The monitor's writer process: the diagnosis rules, the recording and its thinning run in a
process of their own, so that their work never holds Python's lock while training wants it.

On a writer thread (worker.py) that work is close to serial with a training loop whose
Python code holds the lock nearly all the time, and it costs the loop about twice its own
time in waits and switches. Here, the training thread hands events to the same bounded queue;
a sender thread pickles what has gathered (every ``WAKE_AT`` events or ``WAKE_SECONDS``) and
writes it to the process in one message, and a reader thread takes what the process answers:
findings as they fire (logged here, in the user's process), the diagnoses at each drain, and
an error if writing failed. The recording is opened (checked and locked) in the user's
process, then handed over as a file descriptor. POSIX only; where the process cannot start,
the monitor keeps its writer thread (``SidecarUnavailable``).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import select
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from gradtui.events import Diagnosis, Event, LayerStatus, RunFailed, RunFinished, StepStats
from gradtui.recording import Recorder
from gradtui.recording.codec import event_to_json
from gradtui.recording.writer import Thinning
from gradtui.watch.consumer import Announce
from gradtui.watch.frames import receive, send
from gradtui.watch.worker import Worker

# Starting Python and importing the rules takes about 50 ms; a machine with every core busy
# can take many times that.
STARTUP_SECONDS = 30.0
STOP_SECONDS = 30.0
_ROOT = str(Path(__file__).resolve().parents[2])  # the folder gradtui is imported from
_CHILD = (
    f"import sys; sys.path.insert(0, {_ROOT!r}); "
    "from gradtui.watch.sidecar_main import main; main()"
)


# An embedded or frozen interpreter's executable is the host program (an application, a
# server): started with "-I -c", it would run that program, not Python.
_PYTHON_NAME = re.compile(r"(python|pypy)[\d.]*(\.exe)?", re.IGNORECASE)


def _plain_python(executable: str) -> bool:
    name = os.path.basename(executable)
    return not getattr(sys, "frozen", False) and bool(_PYTHON_NAME.fullmatch(name))


class SidecarUnavailable(Exception):
    """The writer process could not start here: use the writer thread."""


class WriterGone(OSError):
    """The writer process is no longer there to write to."""


class Sidecar:
    """Worker's interface (``put``, ``drain``, ``close``, ``error``), consumed elsewhere."""

    def __init__(
        self,
        recorder: Recorder | None,
        diagnose: bool,
        thinning: Thinning | None,
        announce: Announce,
        capacity: int,
    ) -> None:
        if os.name != "posix" or not _plain_python(sys.executable):
            raise SidecarUnavailable("needs POSIX and a plain Python executable")
        fds = (recorder.fileno(),) if recorder is not None else ()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-c", _CHILD],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                pass_fds=fds,
                start_new_session=True,  # a Ctrl+C meant for training must not stop the writer
            )
        except (OSError, ValueError) as exc:
            raise SidecarUnavailable(str(exc)) from None
        assert self._process.stdin is not None and self._process.stdout is not None
        self._to, self._from = self._process.stdin.fileno(), self._process.stdout.fileno()
        self._start(recorder, diagnose, thinning)
        self._announce = announce
        self._lock = threading.Lock()  # one writer of frames at a time
        self._flushes: dict[int, threading.Event] = {}
        self._ids = itertools.count()
        self._ended = False  # the process has stopped answering
        self._stopped = False  # it said so itself
        self._closed = False
        self._failed: Exception | None = None
        self.diagnoses: list[Diagnosis] = []  # as of the last drain
        self.layer_status: tuple[LayerStatus, ...] = ()
        self._reader = threading.Thread(target=self._read, name="gradtui-replies", daemon=True)
        self._reader.start()
        self._sender = Worker(self._send, capacity, batches=True)
        self.capacity = capacity
        # The recording stays open here too, to write the run's end should the process die.
        self._spare = os.dup(recorder.fileno()) if recorder is not None else None
        self._end: Event | None = None  # the run's end, as handed over
        self._steps = 0  # steps handed over: a dead process's recording ends after them

    def _start(self, recorder: Recorder | None, diagnose: bool, thinning: Thinning | None) -> None:
        config = {
            "fd": recorder.fileno() if recorder is not None else None,
            "path": str(recorder.path) if recorder is not None else None,
            "layer_digits": recorder.layer_digits if recorder is not None else None,
            "header": recorder.header if recorder is not None else None,
            "diagnose": diagnose,
            "thinning": thinning,
        }
        try:
            send(self._to, config)
            answered = select.poll()  # not select(): a busy process may hold fds past 1024
            answered.register(self._from, select.POLLIN)
            ready = answered.poll(STARTUP_SECONDS * 1000)
            answer = receive(self._from) if ready else None
        except (OSError, EOFError, ValueError):
            answer = None
        if answer != ("ready",):
            self._process.kill()
            self._process.wait()
            raise SidecarUnavailable("the writer process did not start")

    # -- Worker's interface ------------------------------------------------------------------
    @property
    def error(self) -> Exception | None:
        return self._sender.error or self._failed

    def put(self, event: Event, force: bool = False) -> bool:
        if isinstance(event, RunFinished | RunFailed):
            self._end = event
        elif isinstance(event, StepStats):
            self._steps = event.step + 1
        return self._sender.put(event, force)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until the process has handled every event handed over so far."""
        if not self._sender.drain(timeout):
            return False
        return self._ask("flush", timeout)

    def close(self, timeout: float | None = STOP_SECONDS) -> None:
        """Write what is queued, stop the process, and wait for it."""
        if self._closed:
            return
        self._sender.close()
        self._ask("stop", timeout)
        self._closed = True  # before its pipes close: their numbers may be reused
        self._let_go(timeout)
        self._end_for_the_dead()

    def _end_for_the_dead(self) -> None:
        """A process that died (killed, SIGINT) wrote no end: write it here, on its own
        line (the dead writer may have left half of one), so readers see how the run ended."""
        spare, self._spare = self._spare, None
        if spare is None:
            return
        if not self._stopped:  # as an error of ours ends a recording: stopped early, here
            end = self._end or RunFinished(steps_run=self._steps, stopped=True)
            with contextlib.suppress(OSError):
                os.write(spare, ("\n" + event_to_json(end) + "\n").encode("utf-8"))
        os.close(spare)

    def end_with(self, event: Event) -> None:
        """After an error of ours: what is queued, then ``event`` past the rules, then stop."""
        if self._closed:
            return
        self._end = event
        self._sender.close()
        with contextlib.suppress(OSError):
            self._send([("end", event)])
        self.close()

    # -- the threads -------------------------------------------------------------------------
    def _send(self, batch: list[Any]) -> None:
        with self._lock:
            try:
                send(self._to, batch)
            except OSError as exc:  # its end of the pipe is closed: it has ended
                raise WriterGone(f"the writer process ended ({exc.strerror or exc})") from None

    def _ask(self, what: str, timeout: float | None) -> bool:
        number = next(self._ids)
        answered = self._flushes[number] = threading.Event()
        try:
            self._send([(what, number)])
        except OSError:
            self._flushes.pop(number, None)
            return True
        if self._ended:  # it stopped answering before the question was registered
            answered.set()
        return answered.wait(timeout)

    def _read(self) -> None:
        while True:
            try:
                message = receive(self._from)
            except Exception:  # a damaged answer ends the conversation
                message = None
            if message is None:
                break
            self._answer(message)  # type: ignore[arg-type]
        self._ended = True
        if not self._stopped and self.error is None:
            self._failed = RuntimeError("the writer process ended before the run did")
        for answered in list(self._flushes.values()):
            answered.set()

    def _answer(self, message: tuple) -> None:
        tag = message[0]
        if tag == "found":
            with contextlib.suppress(Exception):  # a logging handler's error: replies go on
                self._announce(message[1])
        elif tag in ("flushed", "stopped"):
            self._stopped = tag == "stopped"
            self.diagnoses, self.layer_status = message[2], message[3]
            answered = self._flushes.pop(message[1], None)
            if answered is not None:
                answered.set()
        elif tag == "failed":
            self._failed = RuntimeError(f"writing the recording failed: {message[1]}")

    def _let_go(self, timeout: float | None) -> None:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.close()  # its end of the stream: the process stops if it has not
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout)
        self._process.stdout.close()
