"""The one reader of recording lines: the header, then one event a line.

Every reader of recordings (replay, report, attach's follower) feeds its lines through a
LineParser, so they all accept the same files and name a bad line the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

from gradtui.events import Event
from gradtui.recording.codec import event_from_json

FORMAT = "gradtui.recording/2"
# The header of each version this reader understands, and the version number it stands for.
READABLE = {"gradtui.recording/1": 1, FORMAT: 2}


class RecordingError(Exception):
    """A recording that cannot be read; the message is one line naming the file and line."""


class LineParser:
    """Feed it a recording's lines in order; it returns the event of each (None for the
    header and blank lines) and raises RecordingError naming the file and line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.line = 0
        self.version: int | None = None

    def feed(self, line: str) -> Event | None:
        self.line += 1
        if not line.strip():
            return None
        if self.version is None:
            self.version = self._header(line)
            return None
        try:
            return event_from_json(line, self.version)
        except (ValueError, KeyError, TypeError) as exc:
            raise RecordingError(
                f"{self.path}: line {self.line}: not a valid event ({exc})"
            ) from None

    def _header(self, line: str) -> int:
        try:
            header = json.loads(line)
        except json.JSONDecodeError:
            header = None
        version = READABLE.get(header.get("format")) if isinstance(header, dict) else None
        if version is None:
            raise RecordingError(f"{self.path}: line {self.line}: not a {FORMAT} header")
        return version
