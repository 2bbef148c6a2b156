"""Writes a run to a recording as it happens, and thins a long one."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gradtui.events import Event, RunStarted, StepStats
from gradtui.recording.codec import event_to_json
from gradtui.recording.parser import FORMAT, RecordingError, shown
from gradtui.recording.target import open_target
from gradtui.regular import reason

REPLACED_CHECK_SECONDS = 1.0  # how often the path is looked up to see it still names our file


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Recorder:
    """Writes events to a file as they come; usable as ``emit``. Line-buffered.

    ``layer_digits`` writes a step's per-layer values with that many significant digits
    (see ``codec.step_to_json``); ``header`` adds fields to the header line (readers look
    only at its ``format``).

    A file cut under the writer (``: > run.jsonl``, log rotation) is noticed before the next
    line: the file is shorter than what was written to it. The writer then writes its header
    again, marked ``resumed``, and the run's start, so what follows still reads; ``warn`` is
    told once. A path that names another file now (moved, deleted) is told once too."""

    def __init__(
        self,
        path: Path,
        force: bool = True,
        layer_digits: int | None = None,
        header: dict[str, Any] | None = None,
    ) -> None:
        # Checked, locked against a second writer; an existing file only replaced with force.
        self._setup(open_target(path, force), path, layer_digits, header or {})
        try:  # a full disk shows here, before any training: one line, as a bad path is
            self._write(json.dumps({"format": FORMAT, **self.header}) + "\n")
        except OSError as exc:
            self._abandon_file()
            raise RecordingError(f"{shown(path)}: cannot write: {reason(exc)}") from None

    def _abandon_file(self) -> None:
        with contextlib.suppress(OSError):  # close flushes what failed, and may fail again
            self._file.close()

    def _setup(
        self, file: IO[str], path: Path, layer_digits: int | None, header: dict[str, Any]
    ) -> None:
        self.path, self.layer_digits, self.header, self._file = path, layer_digits, header, file
        self.warn: Callable[[str], None] = _to_stderr
        info = os.fstat(file.fileno())
        self._identity = (info.st_dev, info.st_ino)
        self._written = self._on_disk = info.st_size  # bytes handed to the file; in it
        self._start_line: str | None = None
        self._last_step: int | None = None
        self._last_on_disk: int | None = None  # the last step flushed: a cut loses up to it
        self._looked = time.monotonic()
        self._told: set[str] = set()

    @classmethod
    def continuing(
        cls,
        file: IO[str],
        path: Path,
        layer_digits: int | None = None,
        header: dict[str, Any] | None = None,
    ) -> Recorder:
        """A recorder that goes on writing ``file``, opened and headed (with ``header``'s
        fields) by another: a writer process given the file the monitor opened."""
        recorder = cls.__new__(cls)
        recorder._setup(file, path, layer_digits, header or {})
        return recorder

    def __call__(self, event: Event) -> None:
        self._check()
        line = event_to_json(event, self.layer_digits) + "\n"
        if isinstance(event, RunStarted):
            self._start_line = line
        elif isinstance(event, StepStats):
            self._last_step = event.step
        self._write(line)
        if self._file.line_buffering:
            self._last_on_disk = self._last_step

    def _write(self, line: str) -> None:
        self._file.write(line)
        self._written += len(line.encode("utf-8"))
        if self._file.line_buffering:
            self._on_disk = self._written

    def flush(self) -> None:
        self._check()
        self._file.flush()
        self._on_disk, self._last_on_disk = self._written, self._last_step

    def _check(self) -> None:
        """Notice a cut file (and write what makes the rest readable), or a replaced path."""
        size = os.fstat(self._file.fileno()).st_size
        if size < self._on_disk:
            self._resume(size)
        now = time.monotonic()
        if now - self._looked >= REPLACED_CHECK_SECONDS:
            self._looked = now
            self._look_at_path()

    def _resume(self, size: int) -> None:
        cut = {"at_byte": size, "written": self._written, "last_step": self._last_on_disk}
        text = json.dumps({"format": FORMAT, **self.header, "resumed": cut}) + "\n"
        text += self._start_line or ""
        if size:  # maybe cut inside a line: end it (a blank line is skipped by readers)
            text = "\n" + text
        # Past the file's buffer: lines still waiting there follow the marker, not precede it.
        data = text.encode("utf-8")
        os.write(self._file.fileno(), data)
        waiting = self._written - self._on_disk
        self._on_disk = size + len(data)
        self._written = self._on_disk + waiting
        self._tell(
            "cut",
            f"gradtui: {shown(self.path)} was cut to {size} bytes while recording "
            "(log rotation?); wrote a new header and went on",
        )

    def _look_at_path(self) -> None:
        try:
            info = os.stat(self.path)
            moved = (info.st_dev, info.st_ino) != self._identity
        except OSError:
            moved = True
        if moved:
            self._tell(
                "moved",
                f"gradtui: {shown(self.path)} no longer names the file being recorded "
                "(moved or deleted); the run goes on into the file it was opened as",
            )

    def _tell(self, what: str, text: str) -> None:
        if what not in self._told:
            self._told.add(what)
            self.warn(text)

    def fileno(self) -> int:
        return self._file.fileno()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


@dataclass(frozen=True)
class Thinning:
    """Which steps a long recording keeps: every step up to ``every_step_until``, then every
    ``then_every``-th, plus every step that fired a finding or went non-finite. At 1 KB a
    step, a million steps then take about 70 MB instead of 1 GB."""

    every_step_until: int = 10_000
    then_every: int = 16

    def keeps(self, step: int, notable: bool) -> bool:
        return notable or step < self.every_step_until or step % self.then_every == 0

    def header(self) -> dict[str, Any]:
        return {
            "thinning": {"every_step_until": self.every_step_until, "then_every": self.then_every}
        }

    def describe(self) -> str:
        return (
            f"from step {self.every_step_until} on, the recording keeps one step in "
            f"every {self.then_every}, and every step that fired a finding or went non-finite"
        )
