"""Make foreign text (from a file, a recording, a user's model) safe to put on a terminal.

Control characters are shown, not obeyed: ESC becomes ``\\x1b``, a C1 control or a bidirectional
override becomes its ``\\u....`` escape. The terminal then never clears the screen, writes the
clipboard (OSC 52) or reorders what follows. No torch, no textual: every side imports this.
"""

from __future__ import annotations

_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
ELLIPSIS = "…"


def _visible(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _is_unsafe(char: str) -> bool:
    """Anything Python does not call printable (controls, format characters, separators other
    than the space, unassigned and private code points, lone surrogates), and the bidi
    controls: a terminal may obey such a character, or draw it at a width nobody expects."""
    return char in _BIDI_CONTROLS or not (char.isprintable() or char == " ")


def _escape_char(char: str) -> str:
    if char == "\t":
        return " "
    return _visible(char) if _is_unsafe(char) else char


def safe_line(text: object, limit: int = 200) -> str:
    """One terminal-safe line: line breaks become a space, controls are made visible,
    and the result is at most ``limit`` characters (the last one an ellipsis when cut)."""
    raw = text if isinstance(text, str) else str(text)
    pieces: list[str] = []
    length = 0
    for char in raw:
        piece = " " if char in _LINE_BREAKS else _escape_char(char)
        if length + len(piece) > limit:
            return _cut(pieces, limit)
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)


def _cut(pieces: list[str], limit: int) -> str:
    if limit <= 0:
        return ""
    joined = "".join(pieces)
    return joined[: limit - 1] + ELLIPSIS


def safe_text(text: object) -> str:
    """Multi-line terminal-safe text: newlines are kept (``\\r\\n`` becomes ``\\n``), every other
    control character, a lone ``\\r`` included, is made visible. No length cap."""
    raw = text if isinstance(text, str) else str(text)
    raw = raw.replace("\r\n", "\n")
    return "\n".join("".join(_escape_char(char) for char in line) for line in raw.split("\n"))
