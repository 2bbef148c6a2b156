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


def legend_text() -> Text:
    """The colour key as a bar: two cells of each band with the log10 value of each edge
    between them (``██-2██0██`` is 1e-2 to 1e0 and 1e0 to 1e2), then the markers by name."""
    labels = legend_labels()
    bands = len(BANDS)
    text = Text("log10 ")
    for edge, colour in labels[:bands]:
        text.append("██", style=colour)
        text.append(edge)
    for name, colour in labels[bands:]:
        text.append(" ")
        text.append("██", style=colour)
        text.append(name)
    return text


class FlowHeatmap(HistoryPanel):
    DEFAULT_CSS = "FlowHeatmap { height: auto; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._cache: tuple[tuple[int, ...], list[tuple[float, ...]]] | None = None

    def rows_for(self, history: RunHistory) -> int:
        return text_rows(len(history.started.layers) if history.started else 1)

    def render(self) -> Text:
        history = self.history
        if history is None or history.started is None or history.latest is None:
            return Text(waiting_text(history is not None and history.ended), style="dim")
        width = max(1, self.size.width - LABEL_WIDTH)
        layers = len(history.started.layers)
        names = [layer.name for layer in history.started.layers]
        group = layers_per_cell(layers)
        # A short run repeats each step over several columns: group each point once.
        grouped: dict[int, tuple[float, ...]] = {}
        columns = [
            grouped.get(id(c)) or grouped.setdefault(id(c), _group(c, group))
            for c in self._columns(history, width)
        ]
        cells = len(columns[0]) if columns else 0
        text = Text(no_wrap=True, overflow="crop")
        for top in range(0, cells, 2):
            text.append(f"{row_label(names[top * group]):>3} ", style="dim")
            pairs = [
                (band_colour(c[top]), band_colour(c[top + 1]) if top + 1 < cells else None)
                for c in columns
            ]
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


def layers_per_cell(layers: int) -> int:
    return max(1, math.ceil(layers / (2 * MAX_ROWS)))


def text_rows(layers: int) -> int:
    """Text rows: two cells a row, then the step axis."""
    return math.ceil(math.ceil(layers / layers_per_cell(layers)) / 2) + 1


def _group(column: tuple[float, ...], size: int) -> tuple[float, ...]:
    if size == 1:
        return column
    return tuple(merge_logs(column[i : i + size]) for i in range(0, len(column), size))
