"""Foreign text made safe for a terminal: no control characters, no direction overrides.

Text from a scenario file, a recording or a user's model is data. Shown as it is, an escape
sequence in it could move the cursor, clear the screen or set the clipboard (OSC 52), and a
bidi override could reorder what the reader sees. These functions drop such characters; they do
not escape markup (build Text/Content objects for that).
"""

from __future__ import annotations

import re

# C0 controls but newline, DEL, C1 controls, and the bidi embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"\s+")


def safe_text(text: str) -> str:
    """text with every control character removed but newlines (tabs become spaces)."""
    return _UNSAFE.sub("", str(text).replace("\t", " "))


def safe_line(text: str, limit: int = 200) -> str:
    """text as one line: controls removed, whitespace runs (newlines too) one space, and at
    most limit characters (the last one an ellipsis when cut)."""
    line = _SPACES.sub(
        " ", _UNSAFE_IN_LINE.sub("", str(text).replace("\t", " ").replace("\n", " "))
    ).strip()
    if len(line) > limit:
        return line[: max(0, limit - 1)] + "…"
    return line
