"""Reading a scenario file as foreign input: a regular file, at most 64 KiB, UTF-8, TOML
nested no deeper than Python can parse. Every failure is a ScenarioError of one short,
terminal-safe line naming the file. No torch.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from gradtui.regular import open_regular, reason
from gradtui.text import safe_line

MAX_BYTES = 64 * 1024


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message is one line naming file and field."""


def shown(path: Path) -> str:
    """A path as it may be printed: one line, no control characters."""
    return safe_line(str(path), 200)


def fail(path: Path, what: str) -> ScenarioError:
    return ScenarioError(safe_line(f"{shown(path)}: {what}", 300))


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML document in ``path``, or ScenarioError with a one-line reason."""
    try:
        with open_regular(path) as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise fail(path, f"cannot read: {reason(exc)}") from None
    if len(data) > MAX_BYTES:
        raise fail(path, f"larger than {MAX_BYTES // 1024} KiB: not a scenario file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail(path, f"not UTF-8 text (a bad byte at offset {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise fail(path, f"TOML syntax error: {exc}") from None
    except RecursionError:
        raise fail(path, "TOML nested too deeply") from None
