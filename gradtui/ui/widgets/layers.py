"""One row per layer: a sparkline of log10 |∂L/∂W| over recent steps, its value, its status."""

from __future__ import annotations

import math
from collections.abc import Iterable
from itertools import groupby

from rich.text import Text

from gradtui.numbers import sci
from gradtui.text import safe_line
from gradtui.ui.format import NONFINITE, ZERO, band_colour, waiting_text
from gradtui.ui.history import RunHistory
from gradtui.ui.palette import palette_of, role_of
from gradtui.ui.widgets.panel import HistoryPanel

TICKS = "▁▂▃▄▅▆▇█"
BADGE_WIDTH = 9
VALUE_WIDTH = 8
MIN_SPARK = 16


def spark_scale(series: Iterable[Iterable[float]]) -> tuple[float, float]:
    """Low and high log10 over every finite value, at least one decade apart."""
    finite = [v for values in series for v in values if math.isfinite(v)]
    if not finite:
        return (-1.0, 0.0)
    low, high = min(finite), max(finite)
    if high - low < 1.0:
        middle = (high + low) / 2
        low, high = middle - 0.5, middle + 0.5
    return low, high


def spark_cell(value: float, low: float, high: float) -> tuple[str, str]:
    """The character and colour for one log10 value of a sparkline."""
    if math.isnan(value):
        return " ", ""
    if value == NONFINITE:
        return "!", band_colour(value)
    if value == ZERO:
        return "_", band_colour(value)
    level = round((value - low) / (high - low) * (len(TICKS) - 1))
    return TICKS[max(0, min(len(TICKS) - 1, level))], band_colour(value)


def cut_middle(name: str, width: int) -> str:
    """name in width characters: its start and its end kept, an ellipsis between."""
    if len(name) <= width:
        return name
    if width < 4:
        return name[:width]
    head = (width - 1) // 2
    return name[:head] + "…" + name[len(name) - (width - 1 - head) :]


def layer_label(name: str, kind: str) -> str:
    """A layer as the panel names it. A bare position (a Sequential's ``4``) gets its kind,
    ``4 (Linear)``, so it reads as a layer, and as the chain's column 4."""
    shown = safe_line(name, 120)
    if kind and shown.replace(".", "").isdigit():
        return f"{shown} ({safe_line(kind, 30)})"
    return shown


class LayersTable(HistoryPanel):
    """The rows; its container scrolls when there are more layers than lines."""

    DEFAULT_CSS = "LayersTable { height: auto; }"

    def __init__(self, compact: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.compact = compact
        self.scale: tuple[float, float] = (-1.0, 0.0)

    def show(self, history: RunHistory, scale: tuple[float, float] | None = None) -> bool:
        """scale: the sparklines' log10 range; compare passes one range for both runs."""
        changed = super().show(history)
        wanted = scale or (spark_scale(history.sparks) if changed else self.scale)
        if wanted != self.scale:
            self.scale = wanted
            self.refresh()
            changed = True
        return changed

    def rows_for(self, history: RunHistory) -> int:
        return len(history.started.layers) if history.started else 1

    def render(self) -> Text:
        history = self.history
        if history is None or history.started is None:
            return Text(waiting_text(history is not None and history.ended), style="dim")
        layers = history.started.layers
        names = [layer_label(layer.name, layer.kind) for layer in layers]
        # Names get up to a third of the panel (half when compact), at least 16 characters;
        # longer ones are cut in the middle.
        share = 2 if self.compact else 3
        name_width = min(max(len(n) for n in names), max(16, self.size.width // share))
        fixed = name_width + VALUE_WIDTH + 2
        # Narrow: drop the badge column and colour the name by its status instead.
        compact = self.compact or self.size.width < fixed + BADGE_WIDTH + 1 + MIN_SPARK
        badge_width = 0 if compact else BADGE_WIDTH + 1
        spark_width = max(1, self.size.width - fixed - badge_width)
        low, high = self.scale
        latest = history.latest.grad_norm if history.latest else (None,) * len(layers)
        statuses = history.layer_status()
        palette = palette_of(self)
        text = Text(no_wrap=True, overflow="crop")
        for i, name in enumerate(names):
            if i:
                text.append("\n")
            status = statuses[i]
            name_style = "bold"
            if compact and status != "ok":
                name_style = palette.badge(role_of(status))
            text.append(cut_middle(name, name_width).ljust(name_width), style=name_style)
            text.append(" ")
            recent = list(history.sparks[i])[-spark_width:]
            text.append(" " * (spark_width - len(recent)))
            cells = [spark_cell(value, low, high) for value in recent]
            for colour, run in groupby(cells, key=lambda cell: cell[1]):
                text.append("".join(char for char, _ in run), style=colour)
            text.append(" " + sci(latest[i]).rjust(VALUE_WIDTH))
            if not compact:
                role = role_of(status)
                style = palette.fg(role) if status == "ok" else palette.badge(role)
                text.append(" ")
                text.append(status.center(BADGE_WIDTH), style=style)
        return text

    def scale_label(self) -> str:
        """The sparklines' range, once there is a step to have one ("" before)."""
        if self.history is None or self.history.latest is None:
            return ""
        low, high = self.scale
        return f"sparkline: log10 {low:.1f} … {high:.1f}"
