"""The status colours, one palette for dark themes and one for light ones.

Every colour reads at WCAG contrast 4.5:1 or better as text on the theme's background, surface
and panel colours, and as the fill of a badge under the palette's ink (a test checks this).
Widgets ask for the palette of the theme on screen with ``palette_of``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from textual._context import NoActiveAppError
from textual.dom import DOMNode

ROLES = (
    "ok",
    "info",
    "warning",
    "error",
    "missing",
    "dead",
    "vanishing",
    "exploding",
    "nonfinite",
    "frozen",
    "saturated",
    "untrained",
    "muted",
)


@dataclass(frozen=True)
class Palette:
    name: str
    ink: str  # the text on a badge filled with one of the colours
    colours: Mapping[str, str]

    def fg(self, role: str, bold: bool = False) -> str:
        """A Rich style: the role's colour as text."""
        return f"{'bold ' if bold else ''}{self.colours[role]}"

    def badge(self, role: str) -> str:
        """A Rich style: the palette's ink on the role's colour."""
        return f"bold {self.ink} on {self.colours[role]}"


DARK = Palette(
    "dark",
    ink="#000000",
    colours={
        "ok": "#6fe06f",
        "info": "#5fd7ff",
        "warning": "#ffd75f",
        "error": "#ff9e9e",
        "missing": "#ffff5f",
        "dead": "#d4d4d4",
        "vanishing": "#b4c4ff",
        "exploding": "#ffa27a",
        "nonfinite": "#ffa0ff",
        "frozen": "#5fe0d0",
        "saturated": "#ffb870",
        "untrained": "#c8c8c8",
        "muted": "#c0c0c0",
    },
)
LIGHT = Palette(
    "light",
    ink="#ffffff",
    colours={
        "ok": "#1b5e20",
        "info": "#005a66",
        "warning": "#6d4c00",
        "error": "#a4001c",
        "missing": "#5c4a00",
        "dead": "#474747",
        "vanishing": "#1a3aa8",
        "exploding": "#9a2a00",
        "nonfinite": "#8a1a8a",
        "frozen": "#005f58",
        "saturated": "#7a3d00",
        "untrained": "#4e4e4e",
        "muted": "#505050",
    },
)

# The layers' statuses, the chain's verdicts and the header's states, as palette roles.
STATUS_ROLE = {"no data": "muted", "shrinks": "vanishing", "grows": "exploding"}
STATUS_ROLE |= {"broken": "missing", "unknown": "muted"}


def role_of(status: str) -> str:
    return STATUS_ROLE.get(status, status)


def palette_of(node: DOMNode) -> Palette:
    """The palette for the theme the node's app shows (dark when there is no app yet)."""
    try:
        dark = node.app.current_theme.dark
    except NoActiveAppError:  # a widget drawn outside an app
        return DARK
    return DARK if dark else LIGHT
