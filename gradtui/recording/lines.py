"""Runs as JSON Lines: a header line with the format version, then one event a line.

Non-finite floats are written as the strings "NaN", "Infinity" and "-Infinity", so every
line is strict JSON, and read back as floats.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gradtui.events import Event, event_from_dict, event_to_dict

FORMAT = "gradtui.recording/1"
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class RecordingError(Exception):
    """A recording that cannot be read; the message is one line naming the file and line."""


def _encode(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value in _NONFINITE:
        return _NONFINITE[value]
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def event_to_json(event: Event) -> str:
    return json.dumps(_encode(event_to_dict(event)), separators=(",", ":"), allow_nan=False)


def event_from_json(line: str) -> Event:
    return event_from_dict(_decode(json.loads(line)))


class Recorder:
    """Writes events to a file as they come; usable as ``emit``. Line-buffered."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[str] = path.open("w", encoding="utf-8", buffering=1)
        self._file.write(json.dumps({"format": FORMAT}) + "\n")

    def __call__(self, event: Event) -> None:
        self._file.write(event_to_json(event) + "\n")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


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
    events = list(_parse(path, lines))
    warning = None
    if tail:
        warning = f"{path}: the last line is incomplete (was the writer stopped?); ignored it"
    return Loaded(events, warning)


def _parse(path: Path, lines: list[str]) -> Iterator[Event]:
    if not lines:
        raise RecordingError(f"{path}: empty file, not a gradtui recording")
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise RecordingError(f"{path}: line 1: not a {FORMAT} header")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            yield event_from_json(line)
        except (ValueError, KeyError, TypeError) as exc:
            raise RecordingError(f"{path}: line {number}: not a valid event ({exc})") from None
