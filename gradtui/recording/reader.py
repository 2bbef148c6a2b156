"""Reads a whole recording, streaming: the file is read in chunks, never held whole."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gradtui.events import Event, RunStarted
from gradtui.recording.lines import LineSplitter
from gradtui.recording.parser import LineParser, RecordingError, shown
from gradtui.regular import open_regular, reason

READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class Loaded:
    events: list[Event]
    warnings: tuple[str, ...]  # lines skipped, a cut-off last line: one line each

    @property
    def warning(self) -> str | None:
        return "\n".join(self.warnings) or None


def stream_recording(path: Path, parser: LineParser | None = None) -> Iterator[Event]:
    """The events of a recording, one at a time, as the file is read. Bad lines are skipped
    with a warning in ``parser.warnings``; RecordingError when the file cannot be read or is
    not a recording."""
    parser = parser or LineParser(path)
    try:
        file = open_regular(path)
    except OSError as exc:
        raise RecordingError(f"{shown(path)}: cannot read: {reason(exc)}") from None
    splitter = LineSplitter()
    read_any = False
    with file:
        while True:
            try:
                chunk = file.read(READ_CHUNK)
            except OSError as exc:
                raise RecordingError(f"{shown(path)}: cannot read: {reason(exc)}") from None
            if not chunk:
                break
            read_any = True
            for line in splitter.feed(chunk):
                event = parser.feed(line)
                if event is not None:
                    yield event
    if parser.version is None:
        what = "no complete header line" if read_any else "empty file"
        raise RecordingError(f"{shown(path)}: {what}, not a gradtui recording")
    if splitter.tail:
        parser.note("the last line is incomplete (was the writer stopped?); ignored it")


def require_start(first: Event | None, path: Path) -> RunStarted:
    """The run's start, the first event; RecordingError when the file has none. ``report``
    and ``replay`` give the same verdict on a file through this one check."""
    if not isinstance(first, RunStarted):
        raise RecordingError(f"{shown(path)}: no run_started event: not a complete recording")
    return first


def read_recording(path: Path) -> Loaded:
    """All complete, valid events of a recording, with a warning per skipped line."""
    parser = LineParser(path)
    events = list(stream_recording(path, parser))
    return Loaded(events, tuple(parser.summary()))


def read_run(path: Path) -> Loaded:
    """A recording of a run, to show or replay: as read_recording, and RecordingError when
    no run_started comes first (the verdict report gives on the same file)."""
    loaded = read_recording(path)
    require_start(loaded.events[0] if loaded.events else None, path)
    return loaded
