"""Follow a recording that another process is still writing, like ``tail -f``. No torch.

``Follower.poll()`` reads whatever was appended since the last call and returns the complete
events in it; a line still being written waits for its newline. The file may not exist yet
(attach before the training starts) and may be started afresh by a new run (it shrinks): both
are handled. The writer is done once a RunFinished or RunFailed event arrives.
"""

from __future__ import annotations

import time
from pathlib import Path

from gradtui.events import Event, RunFailed, RunFinished
from gradtui.recording.parser import LineParser, RecordingError

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
        self._parser = LineParser(self.path)

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
        self._parser = LineParser(self.path)
        self.finished = False
        self.events_read = 0

    def _parse(self, raw: bytes) -> Event | None:
        event = self._parser.feed(raw.decode("utf-8"))
        if event is None:
            return None
        self.events_read += 1
        if isinstance(event, RunFinished | RunFailed):
            self.finished = True
        return event
