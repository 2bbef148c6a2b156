"""Reads a whole recording."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gradtui.events import Event
from gradtui.recording.parser import LineParser, RecordingError


@dataclass(frozen=True)
class Loaded:
    events: list[Event]
    warning: str | None  # set when the file ended mid-line (its writer was stopped)


def read_recording(path: Path) -> Loaded:
    """All complete events of a recording. A cut-off last line is dropped with a warning."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror or exc}") from None
    lines = text.split("\n")
    tail = lines.pop()  # "" when the file ends with a newline
    if not lines:
        raise RecordingError(f"{path}: empty file, not a gradtui recording")
    parser = LineParser(path)
    events = [event for line in lines if (event := parser.feed(line)) is not None]
    warning = None
    if tail:
        warning = f"{path}: the last line is incomplete (was the writer stopped?); ignored it"
    return Loaded(events, warning)
