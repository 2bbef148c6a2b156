"""One row per layer: a sparkline of log10 |∂L/∂W| over recent steps, its value, its status."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby

from rich.text import Text
from textual.strip import Strip
from textual.visual import Visual, visualize

from gradtui.events import RunStarted
from gradtui.numbers import sci
from gradtui.text import safe_line
from gradtui.ui.format import NONFINITE, ZERO, band_colour, waiting_text
from gradtui.ui.history import RunHistory
from gradtui.ui.palette import Palette, palette_of, role_of
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


def label_length(name: str, kind: str) -> int:
    """len(layer_label(name, kind)), without making the label when the name is plain."""
    if not (name.isprintable() and kind.isprintable() and len(name) <= 120):
        return len(layer_label(name, kind))
    if kind and name.replace(".", "").isdigit():
        return len(name) + min(len(kind), 30) + 3
    return len(name)


class Labels:
    """The layers' labels, each made when its row is first drawn (a model may have 100,000
    layers); ``longest`` is the longest label's length, read from the raw names."""

    def __init__(self, started: RunStarted) -> None:
        self.started = started
        self._made: dict[int, str] = {}
        self.longest = max((label_length(x.name, x.kind) for x in started.layers), default=1)

    def __len__(self) -> int:
        return len(self.started.layers)

    def __getitem__(self, i: int) -> str:
        label = self._made.get(i)
        if label is None:
            layer = self.started.layers[i]
            label = self._made[i] = layer_label(layer.name, layer.kind)
        return label


@dataclass(frozen=True)
class Frame:
    """What every row of one drawing shares: computed once per change, not once per row."""

    names: Labels
    name_width: int
    compact: bool
    spark_width: int
    latest: tuple[float | None, ...]
    statuses: tuple[str, ...]
    palette: Palette


class LayersTable(HistoryPanel):
    """The rows; its container scrolls when there are more layers than lines. Drawn a line at a
    time (Textual's line API): only the rows in view are built, so a model of 100,000 layers
    costs what its visible rows cost."""

    DEFAULT_CSS = "LayersTable { height: auto; }"

    def __init__(self, compact: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.compact = compact
        self.scale: tuple[float, float] = (-1.0, 0.0)
        self.rows_built = 0  # rows drawn so far, and the deepest: bounded by what was in view
        self.deepest_row = -1
        self._frame: tuple[tuple, Frame] | None = None
        self._labels: Labels | None = None

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

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        text = self.row(y)
        self.rows_built += 1
        self.deepest_row = max(self.deepest_row, y)
        strips = Visual.to_strips(self, visualize(self, text), width, 1, self.visual_style)
        return strips[0] if strips else Strip.blank(width, self.visual_style.rich_style)

    def render(self) -> Text:
        """Every row at once (the line API draws only those in view)."""
        count = len(self.history.started.layers) if self.history and self.history.started else 1
        return Text("\n", no_wrap=True, overflow="crop").join(self.row(y) for y in range(count))

    def row(self, y: int) -> Text:
        """Row ``y``: one layer, or the waiting line before the run starts."""
        history = self.history
        if history is None or history.started is None:
            if y:
                return Text()
            return Text(waiting_text(history is not None and history.ended), style="dim")
        frame = self.frame(history)
        if y >= len(frame.names):
            return Text()
        return self._layer_row(frame, history, y)

    def frame(self, history: RunHistory) -> Frame:
        palette = palette_of(self)
        key = (history.key, self.size.width, self.scale, self.compact, palette.name)
        if self._frame is None or self._frame[0] != key:
            self._frame = (key, self._make_frame(history, palette))
        return self._frame[1]

    def _make_frame(self, history: RunHistory, palette: Palette) -> Frame:
        assert history.started is not None
        layers = history.started.layers
        names = self._names(history.started)
        # Names get up to a third of the panel (half when compact), at least 16 characters;
        # longer ones are cut in the middle.
        share = 2 if self.compact else 3
        name_width = min(names.longest, max(16, self.size.width // share))
        fixed = name_width + VALUE_WIDTH + 2
        # Narrow: drop the badge column and colour the name by its status instead.
        compact = self.compact or self.size.width < fixed + BADGE_WIDTH + 1 + MIN_SPARK
        badge_width = 0 if compact else BADGE_WIDTH + 1
        latest = history.latest.grad_norm if history.latest else (None,) * len(layers)
        return Frame(
            names,
            name_width,
            compact,
            max(1, self.size.width - fixed - badge_width),
            latest,
            history.layer_status(),
            palette,
        )

    def _names(self, started: RunStarted) -> Labels:
        if self._labels is None or self._labels.started is not started:
            self._labels = Labels(started)
        return self._labels

    def _layer_row(self, frame: Frame, history: RunHistory, i: int) -> Text:
        low, high = self.scale
        status, palette = frame.statuses[i], frame.palette
        name_style = "bold"
        if frame.compact and status != "ok":
            name_style = palette.badge(role_of(status))
        text = Text(no_wrap=True, overflow="crop")
        text.append(
            cut_middle(frame.names[i], frame.name_width).ljust(frame.name_width), name_style
        )
        text.append(" ")
        recent = list(history.sparks[i])[-frame.spark_width :]
        text.append(" " * (frame.spark_width - len(recent)))
        cells = [spark_cell(value, low, high) for value in recent]
        for colour, run in groupby(cells, key=lambda cell: cell[1]):
            text.append("".join(char for char, _ in run), style=colour)
        text.append(" " + sci(frame.latest[i]).rjust(VALUE_WIDTH))
        if not frame.compact:
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
