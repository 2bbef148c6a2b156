"""Numbers and colours shared by the panels: log10 markers and the heatmap's colour bands.

The status colours, which depend on the theme, are in ``gradtui.ui.palette``.
"""

from __future__ import annotations

import math

# Markers for a log10 value that is not a plain number.
MISSING = math.nan  # no gradient reached the layer
NONFINITE = math.inf  # the gradient held nan or inf
ZERO = -math.inf  # the gradient was exactly zero


def log10_of(value: float | None) -> float:
    """log10 of a norm, or one of the markers above."""
    if value is None:
        return MISSING
    if not math.isfinite(value):
        return NONFINITE
    if value <= 0:
        return ZERO
    return math.log10(value)


# Colour by log10(norm), in even bins two decades wide: cold blues for vanishing, greens for
# the usual middle (1e-3 to 1e1), warm colours for large. Every colour is one of the 16
# standard terminal colours (as Rich defines them), so a 16-colour terminal shows them all.
BANDS: tuple[tuple[float, str], ...] = (
    (-7.0, "#0000aa"),  # blue: below 1e-7
    (-5.0, "#5555ff"),  # bright blue
    (-3.0, "#00aaaa"),  # cyan
    (-1.0, "#00aa00"),  # green
    (1.0, "#55ff55"),  # bright green: 1e-1 to 1e1
    (3.0, "#ffff55"),  # yellow
    (math.inf, "#ff5555"),  # bright red: 1e3 and above
)
NONFINITE_COLOUR = "#ff55ff"  # bright magenta
ZERO_COLOUR = "#555555"  # bright black
MISSING_COLOUR = "#aaaaaa"  # light grey: seen on a dark panel and on a light one


def band_colour(log_value: float) -> str:
    if math.isnan(log_value):
        return MISSING_COLOUR
    if log_value == NONFINITE:
        return NONFINITE_COLOUR
    if log_value == ZERO:
        return ZERO_COLOUR
    for upper, colour in BANDS:
        if log_value < upper:
            return colour
    return BANDS[-1][1]


def legend_labels() -> list[tuple[str, str]]:
    """(edge, colour) for a colour bar: each band's colour, then the log10 value where the next
    band starts ("" after the last), low to high; then the markers, each with its name."""
    bar = [(f"{upper:g}" if math.isfinite(upper) else "", colour) for upper, colour in BANDS]
    return [*bar, ("nan", NONFINITE_COLOUR), ("zero", ZERO_COLOUR), ("none", MISSING_COLOUR)]


def waiting_text(ended: bool) -> str:
    return "no step completed" if ended else "waiting for the first step…"
