"""Which lessons are done, remembered in $XDG_CONFIG_HOME/gradtui/course.json (no torch)."""

from __future__ import annotations

import json
import os
from pathlib import Path


def progress_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "gradtui" / "course.json"


class Progress:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or progress_path()
        self.done: set[int] = self._read()

    def _read(self) -> set[int]:
        try:
            data = json.loads(self.path.read_text())
            return {int(n) for n in data.get("done", []) if 1 <= int(n) <= 10}
        except (OSError, ValueError, TypeError, AttributeError):
            return set()  # missing or unreadable: start afresh, never fail the course

    def mark(self, number: int) -> None:
        if number in self.done:
            return
        self.done.add(number)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"done": sorted(self.done)}))
            tmp.replace(self.path)
        except OSError:
            pass  # a read-only config directory: progress lasts this session only
