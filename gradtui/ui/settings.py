"""What the dashboard remembers between runs (the theme), in
``$XDG_CONFIG_HOME/gradtui/settings.json`` (``~/.config`` when the variable is unset).

A missing, unreadable or malformed file is the same as no settings: the dashboard starts with
its defaults and never fails because of this file. A file that cannot be written is skipped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

MAX_BYTES = 64 * 1024


def settings_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "gradtui" / "settings.json"


def load_settings() -> dict[str, Any]:
    try:
        with settings_path().open("rb") as file:
            data = json.loads(file.read(MAX_BYTES + 1)[: MAX_BYTES + 1])
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def saved_theme() -> str | None:
    theme = load_settings().get("theme")
    return theme if isinstance(theme, str) and len(theme) <= 100 else None


def save_theme(theme: str) -> None:
    settings = load_settings() | {"theme": theme}
    path = settings_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".tmp")
        partial.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        partial.replace(path)  # whole or not at all: a second gradtui never reads half a file
    except OSError:
        return
