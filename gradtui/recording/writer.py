"""Writes a run to a recording as it happens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from gradtui.events import Event
from gradtui.recording.codec import event_to_json
from gradtui.recording.parser import FORMAT
from gradtui.recording.target import open_target


class Recorder:
    """Writes events to a file as they come; usable as ``emit``. Line-buffered."""

    def __init__(self, path: Path, force: bool = True) -> None:
        self.path = path
        # Checked, locked against a second writer; an existing file only replaced with force.
        self._file: IO[str] = open_target(path, force)
        self._file.write(json.dumps({"format": FORMAT}) + "\n")

    def __call__(self, event: Event) -> None:
        self._file.write(event_to_json(event) + "\n")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
