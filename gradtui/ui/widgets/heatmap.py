"""Gradient flow: layers (rows, input at the top) by steps (columns), coloured by log10 |∂L/∂W|.

Two layers share a text row: the upper half block takes one layer's colour, the background the
next one's. The whole run is squeezed into the width, so early and late steps are both in view.
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import groupby

from rich.style import Style
from rich.text import Text
from textual import events
from textual.containers import Container

from gradtui.text import safe_line
from gradtui.ui.format import BANDS, band_colour, legend_labels, waiting_text
from gradtui.ui.history import RunHistory, merge_logs
from gradtui.ui.widgets.panel import HistoryPanel

LABEL_WIDTH = 4
MAX_ROWS = 16  # text rows of cells; deeper networks merge neighbouring layers into one cell


def squeeze(points: list[tuple[float, ...]], width: int) -> list[tuple[float, ...]]:
    """About `width` columns for the whole run: points merged when there are more, repeated
    when there are fewer (so a short run still fills the panel)."""
    if not points:
        return points
    if len(points) <= width:
        return [points[c * len(points) // width] for c in range(width)]
    columns = []
    for c in range(width):
        start, end = c * len(points) // width, (c + 1) * len(points) // width
        chunk = points[start : max(end, start + 1)]
        columns.append(tuple(merge_logs(values) for values in zip(*chunk, strict=True)))
    return columns


def legend_text(cells: int = 2, unit: bool = True) -> Text:
    """The colour key as a bar: ``cells`` cells of each band with the log10 value of each edge
    between them (``██-2██0██`` is 1e-2 to 1e0 and 1e0 to 1e2), then the markers by name;
    ``unit``: "log10 " before it (the panel's title says it too)."""
    labels = legend_labels()
    bands = len(BANDS)
    block = "█" * cells
    text = Text("log10 " if unit else "")
    for edge, colour in labels[:bands]:
        text.append(block, style=colour)
        text.append(edge)
    for name, colour in labels[bands:]:
        text.append(" ")
        text.append(block, style=colour)
        text.append(name)
    return text


def legend_for(width: int) -> Text:
    """The widest key that fits a panel ``width`` cells wide, on its bottom border."""
    room = width - 6  # the corners, and a cell of border either side of the key
    tries = [legend_text(cells, unit) for cells, unit in ((2, True), (1, True), (1, False))]
    return next((legend for legend in tries if legend.cell_len <= room), tries[-1])


class FlowBox(Container):
    """The gradient flow's panel: its key on the bottom border, as wide as fits."""

    def on_resize(self, _event: events.Resize) -> None:
        self.border_subtitle = legend_for(self.outer_size.width)


class FlowHeatmap(HistoryPanel):
    DEFAULT_CSS = "FlowHeatmap { height: auto; }"

    def __init__(self, fit: bool = False, **kwargs) -> None:
        """fit: merge neighbouring layers so that every row, the head's too, fits the
        height of the panel (side by side, where nothing scrolls); else MAX_ROWS rows."""
        super().__init__(**kwargs)
        self.fit = fit
        self._cache: tuple[tuple[int, ...], list[tuple[float, ...]]] | None = None
        self._room_drawn = MAX_ROWS

    def room(self) -> int:
        """Text rows for cells: the panel's height less the step axis, at most MAX_ROWS."""
        parent = self.parent
        if not self.fit or parent is None or not parent.content_region.height:
            return MAX_ROWS
        return max(1, min(MAX_ROWS, parent.content_region.height - 1))

    def show(self, history: RunHistory) -> bool:
        room = self.room()
        if room != self._room_drawn:  # the panel was resized: draw again at its new height
            self._room_drawn, self._drawn = room, None
        return super().show(history)

    def rows_for(self, history: RunHistory) -> int:
        return text_rows(len(history.started.layers) if history.started else 1, self.room())

    def render(self) -> Text:
        history = self.history
        if history is None or history.started is None or history.latest is None:
            return Text(waiting_text(history is not None and history.ended), style="dim")
        width = max(1, self.size.width - LABEL_WIDTH)
        names = [layer.name for layer in history.started.layers]
        groups = cell_groups(len(names), self.room())
        # A short run repeats each step over several columns: colour each point once.
        coloured: dict[int, list[str | None]] = {}
        columns = [
            coloured.get(id(c)) or coloured.setdefault(id(c), [_colour(c, g) for g in groups])
            for c in self._columns(history, width)
        ]
        text = Text(no_wrap=True, overflow="crop")
        for top in range(0, len(groups), 2):
            below = top + 1 < len(groups)
            text.append(f"{row_label(names[groups[top][0]]):>3} ", style="dim")
            pairs = [(c[top], c[top + 1] if below else None) for c in columns]
            for pair, run in groupby(pairs):  # one span per run of equal cells
                text.append("▀" * len(list(run)), style=_style(*pair))
            text.append("\n")
        text.append(_axis(history.latest.step, len(columns)), style="dim")
        return text

    def _columns(self, history: RunHistory, width: int) -> list[tuple[float, ...]]:
        key = (*history.key, width)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, squeeze(history.heat.view()[1], width))
        return self._cache[1]


@lru_cache(maxsize=256)
def _style(upper: str, lower: str | None) -> Style:
    return Style(color=upper, bgcolor=lower)


def _axis(last_step: int, width: int) -> str:
    left, right = "step 0", f"{last_step}"
    gap = max(1, width - len(left) - len(right))
    return " " * LABEL_WIDTH + left + " " * gap + right if width > 12 else " " * LABEL_WIDTH + left


def row_label(name: str) -> str:
    """A layer's row by the number the other panels use: the last number in its name
    (``blocks.3.linear`` is 3, a Sequential's ``16`` is 16); ``head`` is H."""
    parts = name.split(".")
    number = next((part for part in reversed(parts) if part.isdigit()), None)
    if number is not None:
        return safe_line(number, 3)
    return "H" if parts[-1] == "head" else safe_line(parts[-1][:1], 3)


def cell_groups(layers: int, rows: int = MAX_ROWS) -> list[list[int]]:
    """The layers each cell shows, two cells a text row, in ``rows`` rows. When they all fit,
    one layer a cell; else the last layer (the head) keeps a row of its own, labelled, and the
    others merge evenly into the rows above it (an empty list is a blank half row)."""
    if math.ceil(layers / 2) <= rows:
        return [[index] for index in range(layers)]
    body = layers - 1
    size = math.ceil(body / (2 * max(1, rows - 1)))
    cells = [list(range(start, min(start + size, body))) for start in range(0, body, size)]
    if len(cells) % 2:
        cells.append([])
    return [*cells, [layers - 1]]


def text_rows(layers: int, rows: int = MAX_ROWS) -> int:
    """Text rows: two cells a row, then the step axis."""
    return math.ceil(len(cell_groups(layers, rows)) / 2) + 1


def _colour(column: tuple[float, ...], layers: list[int]) -> str | None:
    """One cell's colour: its layers' values merged; None for a blank half row."""
    if not layers:
        return None
    if len(layers) == 1:
        return band_colour(column[layers[0]])
    return band_colour(merge_logs([column[index] for index in layers]))
