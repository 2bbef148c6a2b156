"""The one reader of recording lines: the header, then one event a line.

Every reader of recordings (replay, report, attach's follower) feeds its lines through a
LineParser, so they all accept the same files and name a bad line the same way. The parser
is lenient: a line that is not a valid event (bad JSON, not UTF-8, a field of the wrong type
or length, an unknown event type) is skipped with one warning naming the file and line, and
every valid event around it is kept. Only a file that is not a recording at all (its first
line is not a gradtui header) is an error. Warnings are capped, then summed up in one line.
"""

from __future__ import annotations

import json
from pathlib import Path

from gradtui.events import Event, RunStarted, StepStats
from gradtui.recording.codec import event_from_json
from gradtui.recording.schema import BadEvent, UnknownEvent
from gradtui.text import safe_line

FORMAT = "gradtui.recording/2"
# The header of each version this reader understands, and the version number it stands for.
READABLE = {"gradtui.recording/1": 1, FORMAT: 2}
MAX_WARNINGS = 10  # then one line says how many more
MAX_LINE_BYTES = 64 << 20  # a longer line is skipped unread (see LineSplitter)


class RecordingError(Exception):
    """A recording that cannot be read; the message is one line naming the file and line."""


def shown(path: Path) -> str:
    """A path as it may be printed: one line, no control characters."""
    return safe_line(str(path), 300)


class LineParser:
    """Feed it a recording's lines in order; it returns the event of each (None for the
    header, blank lines and skipped lines). ``warnings`` says what was skipped and why."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.line = 0
        self.version: int | None = None
        self.started: RunStarted | None = None
        self.warnings: list[str] = []
        self.skipped = 0  # warnings not kept, past MAX_WARNINGS
        self._last_step: int | None = None
        self._unknown_types: set[str] = set()
        self._resumed = False  # a writer's resume marker was read: its run_started comes again

    def feed(self, line: str | bytes | None) -> Event | None:
        """The event of the next line; None also stands for a line dropped for its length."""
        self.line += 1
        if line is None:
            self.warn(f"longer than {MAX_LINE_BYTES >> 20} MiB; skipped it")
            return None
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                self.warn("not UTF-8 text; skipped it")
                return None
        # A file truncated while its writer kept its offset begins with NULs; skip them.
        line = line.lstrip("\x00")
        if not line.strip():
            return None
        if self.version is None:
            self.version = self._header(line)
            return None if self.version is not None else self._headerless(line)
        if line.startswith('{"format"'):
            self._marker(line)
            return None
        try:
            event = event_from_json(line, self.version, self.started)
        except UnknownEvent as exc:
            self._unknown(str(exc))
            return None
        except BadEvent as exc:
            self.warn(f"not a valid event ({exc}); skipped it")
            return None
        return self._in_order(event)

    def _headerless(self, line: str) -> Event | None:
        """A file cut by truncation lost its header: read its lines as the current format."""
        self.version = READABLE[FORMAT]
        self.line -= 1
        return self.feed(line)

    def _marker(self, line: str) -> None:
        """A header in the middle: the writer found its file cut and wrote it again."""
        try:
            header = json.loads(line)
        except (ValueError, RecursionError):
            header = None
        if not isinstance(header, dict) or header.get("format") not in READABLE:
            self.warn("not a valid event (a header line in the middle?); skipped it")
            return
        self._cut(header.get("resumed"))

    def _cut(self, resumed: object) -> None:
        """Say what a resume marker tells of what was lost."""
        if not isinstance(resumed, dict):
            self.warn("a second header line; skipped it")
            return
        self._resumed = True
        at, last = resumed.get("at_byte"), resumed.get("last_step")
        where = f" at byte {at}" if isinstance(at, int) and not isinstance(at, bool) else ""
        if isinstance(last, int) and not isinstance(last, bool):
            first = 0 if self._last_step is None else self._last_step + 1
            lost = f"steps {first}..{last} are missing" if first <= last else "no step is missing"
        else:
            lost = "what was written before is missing"
        self.warn(f"the file was cut{where} while it was written (log rotation?); {lost}")

    def warn(self, what: str, line: int | None = None) -> None:
        if len(self.warnings) >= MAX_WARNINGS:
            self.skipped += 1
            return
        where = f"line {self.line if line is None else line}"
        self.warnings.append(safe_line(f"{shown(self.path)}: {where}: {what}", 400))

    def note(self, what: str) -> None:
        """A warning about the file as a whole, kept past the cap."""
        self.warnings.append(safe_line(f"{shown(self.path)}: {what}", 400))

    def summary(self) -> list[str]:
        """The warnings, and one line for those past the cap."""
        if not self.skipped:
            return list(self.warnings)
        more = f"{shown(self.path)}: {self.skipped} more problem line(s) not shown"
        return [*self.warnings, more]

    def _unknown(self, what: str) -> None:
        if what not in self._unknown_types:
            self._unknown_types.add(what)
            self.warn(f"{what} (written by a newer gradtui?); skipped it")

    def _in_order(self, event: Event) -> Event | None:
        if isinstance(event, RunStarted):
            if self.started is not None:
                if not self._resumed:  # a resumed writer repeats it on purpose
                    self.warn("a second run_started in one file; skipped it")
                return None
            self.started = event
        elif isinstance(event, StepStats):
            last = self._last_step
            if last is not None and event.step <= last:
                word = "duplicated" if event.step == last else "out of order"
                self.warn(f"step {event.step} after step {last} ({word}); skipped it")
                return None
            self._last_step = event.step
        return event

    def _header(self, line: str) -> int | None:
        """The version the header names; None for a headerless file that was truncated
        while written (its first line is an event: what came before it was cut)."""
        try:
            header = json.loads(line)
        except (ValueError, RecursionError):
            header = None
        version = READABLE.get(header.get("format")) if isinstance(header, dict) else None
        if version is not None:
            if "resumed" in header:
                self._cut(header["resumed"])
            return version
        if isinstance(header, dict) and isinstance(header.get("format"), str):
            raise RecordingError(
                f"{shown(self.path)}: line {self.line}: format "
                f"{safe_line(header['format'], 60)!s} is not one this gradtui reads "
                f"({', '.join(READABLE)})"
            )
        if isinstance(header, dict) and isinstance(header.get("type"), str):
            self.warn(
                "no header: the file was cut while it was written (log rotation?) and what "
                f"came before this line is missing; read as {FORMAT}"
            )
            return None
        raise RecordingError(f"{shown(self.path)}: line {self.line}: not a {FORMAT} header")
