"""Writes a run to a recording as it happens, and thins a long one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gradtui.events import Event
from gradtui.recording.codec import event_to_json
from gradtui.recording.parser import FORMAT
from gradtui.recording.target import open_target


class Recorder:
    """Writes events to a file as they come; usable as ``emit``. Line-buffered.

    ``layer_digits`` writes a step's per-layer values with that many significant digits
    (see ``codec.step_to_json``); ``header`` adds fields to the header line (readers look
    only at its ``format``)."""

    def __init__(
        self,
        path: Path,
        force: bool = True,
        layer_digits: int | None = None,
        header: dict[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.layer_digits = layer_digits
        # Checked, locked against a second writer; an existing file only replaced with force.
        self._file: IO[str] = open_target(path, force)
        self._file.write(json.dumps({"format": FORMAT, **(header or {})}) + "\n")

    @classmethod
    def continuing(cls, file: IO[str], path: Path, layer_digits: int | None = None) -> Recorder:
        """A recorder that goes on writing ``file``, opened and headed by another (a writer
        process given the file the monitor opened)."""
        recorder = cls.__new__(cls)
        recorder.path, recorder.layer_digits, recorder._file = path, layer_digits, file
        return recorder

    def __call__(self, event: Event) -> None:
        self._file.write(event_to_json(event, self.layer_digits) + "\n")

    def flush(self) -> None:
        self._file.flush()

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
