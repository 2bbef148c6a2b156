"""Follow a recording that another process is still writing, like ``tail -f``. No torch.

``Follower.poll()`` reads whatever was appended since the last call and returns the complete
events in it; a line still being written waits for its newline. The file may not exist yet
(attach before the training starts) and may be started afresh by a new run (it shrinks): both
are handled. The writer is done once a RunFinished or RunFailed event arrives.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

from gradtui.events import Event, RunFailed, RunFinished
from gradtui.recording.lines import FORMAT, RecordingError, event_from_json

READ_CHUNK = 1 << 20  # at most this many bytes per poll, so one poll stays short


class Follower:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.finished = False  # the writer wrote its last event
        self.restarted = False  # the file was started afresh since the last poll
        self.events_read = 0
        self.last_growth = time.monotonic()
        self._offset = 0
        self._partial = b""
        self._header_seen = False
        self._line = 0

    def poll(self) -> list[Event]:
        """The complete events appended since the last poll (maybe none)."""
        self.restarted = False
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise RecordingError(f"{self.path}: cannot read: {exc.strerror or exc}") from None
        if size < self._offset:  # a new run truncated the file: start again
            self._reset()
            self.restarted = True
        if size == self._offset:
            return []
        with self.path.open("rb") as file:
            file.seek(self._offset)
            chunk = file.read(READ_CHUNK)
        self._offset += len(chunk)
        self.last_growth = time.monotonic()
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        return [event for line in lines if (event := self._parse(line)) is not None]

    def idle_seconds(self) -> float:
        """Seconds since the file last grew."""
        return time.monotonic() - self.last_growth

    @property
    def incomplete_tail(self) -> bool:
        """Bytes after the last newline: a line being written, or cut off by a killed writer."""
        return bool(self._partial)

    def _reset(self) -> None:
        self._offset = 0
        self._partial = b""
        self._header_seen = False
        self._line = 0
        self.finished = False
        self.events_read = 0

    def _parse(self, raw: bytes) -> Event | None:
        self._line += 1
        line = raw.decode("utf-8").strip()
        if not line:
            return None
        if not self._header_seen:
            try:
                header = json.loads(line)
            except json.JSONDecodeError:
                header = None
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise RecordingError(f"{self.path}: line 1: not a {FORMAT} header")
            self._header_seen = True
            return None
        try:
            event = event_from_json(line)
        except (ValueError, KeyError, TypeError) as exc:
            raise RecordingError(
                f"{self.path}: line {self._line}: not a valid event ({exc})"
            ) from None
        self.events_read += 1
        if isinstance(event, RunFinished | RunFailed):
            self.finished = True
        return event


def follow(
    path: Path, interval_s: float = 0.2, idle_timeout_s: float | None = None
) -> Iterator[Event]:
    """Every event of the recording, waiting for more until the writer finishes (or, with
    ``idle_timeout_s``, until the file has not grown for that long)."""
    follower = Follower(path)
    while True:
        yield from follower.poll()
        if follower.finished:
            return
        if idle_timeout_s is not None and follower.idle_seconds() > idle_timeout_s:
            return
        time.sleep(interval_s)
