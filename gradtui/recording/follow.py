"""Follow a recording that another process is still writing, like ``tail -f``. No torch.

``Follower.poll()`` reads whatever was appended since the last call and returns the complete
events in it; a line still being written waits for its newline. The file may not exist yet
(attach before the training starts), may be started afresh by a new run or truncated (it
shrinks: read again from its start), and may be deleted (``deleted`` says so). Bad lines are
skipped with a warning (``take_warnings``), as every reader does. The writer is done once a
RunFinished or RunFailed event arrives.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from gradtui.events import Event, RunFailed, RunFinished
from gradtui.recording.lines import LineSplitter
from gradtui.recording.parser import LineParser, RecordingError, shown
from gradtui.regular import open_regular, reason

READ_CHUNK = 1 << 20  # at most this many bytes per poll, so one poll stays short
# The bytes before the offset read again each poll: when they changed, the file was cut and
# grew past the offset between two polls (a resumed writer's new header is longer than this).
SEEN_BYTES = 64


class Follower:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.finished = False  # the writer wrote its last event
        self.restarted = False  # the file was started afresh (or truncated) since the last poll
        self.deleted = False  # the file was there and is gone now
        self.events_read = 0
        self.last_growth = time.monotonic()
        self._offset = 0
        self._seen = b""  # the last SEEN_BYTES bytes read
        self._identity: tuple[int, int] | None = None
        self._splitter = LineSplitter()
        self._parser = LineParser(self.path)
        self._warned = 0

    def poll(self) -> list[Event]:
        """The complete events appended since the last poll (maybe none)."""
        self.restarted = False
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            self.deleted = self._identity is not None
            return []
        except OSError as exc:
            raise RecordingError(f"{shown(self.path)}: cannot read: {reason(exc)}") from None
        if not stat.S_ISREG(info.st_mode):
            raise RecordingError(f"{shown(self.path)}: cannot read: not a regular file")
        identity = (info.st_dev, info.st_ino)
        replaced = self._identity is not None and identity != self._identity
        if info.st_size < self._offset or replaced:  # truncated, or a new file: start again
            self._reset()
            self.restarted = True
        self._identity = identity
        self.deleted = False
        if info.st_size == self._offset:
            return []
        chunk = self._read()
        if chunk is None:  # rewritten under the same size or larger: start again
            self._reset()
            self.restarted = True
            chunk = self._read() or b""
        self._offset += len(chunk)
        self._seen = (self._seen + chunk)[-SEEN_BYTES:]
        self.last_growth = time.monotonic()
        events = []
        for line in self._splitter.feed(chunk):
            event = self._parser.feed(line)
            if event is not None:
                events.append(self._count(event))
        return events

    def take_warnings(self) -> list[str]:
        """Warnings about skipped lines not taken before."""
        new = self._parser.summary()[self._warned :]
        self._warned += len(new)
        return new

    def idle_seconds(self) -> float:
        """Seconds since the file last grew."""
        return time.monotonic() - self.last_growth

    @property
    def incomplete_tail(self) -> bool:
        """Bytes after the last newline: a line being written, or cut off by a killed writer."""
        return self._splitter.tail

    def _read(self) -> bytes | None:
        """The bytes after the offset; None when those before it are not the ones read."""
        try:
            with open_regular(self.path) as file:
                file.seek(self._offset - len(self._seen))
                if file.read(len(self._seen)) != self._seen:
                    return None
                return file.read(READ_CHUNK)
        except FileNotFoundError:
            return b""
        except OSError as exc:
            raise RecordingError(f"{shown(self.path)}: cannot read: {reason(exc)}") from None

    def _reset(self) -> None:
        self._offset = 0
        self._seen = b""
        self._splitter.reset()
        self._parser = LineParser(self.path)
        self._warned = 0
        self.finished = False
        self.events_read = 0

    def _count(self, event: Event) -> Event:
        self.events_read += 1
        if isinstance(event, RunFinished | RunFailed):
            self.finished = True
        return event
