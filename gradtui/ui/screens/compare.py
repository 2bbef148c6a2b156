"""Two runs side by side in lock step, named A and B, on one scale.

Both sides share the sparklines' log10 range and the loss axis, so equal heights mean equal
values. The lower panel of both sides shows the diagnoses, the chain or the gradient flow;
p switches it.
"""

from __future__ import annotations

import sys
from itertools import chain
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import ContentSwitcher

from gradtui.text import safe_line
from gradtui.ui.history import RunHistory
from gradtui.ui.screens.runscreen import RunScreen
from gradtui.ui.titles import distinct_titles
from gradtui.ui.widgets.chain import ChainPanel
from gradtui.ui.widgets.diagnoses import DiagnosisList
from gradtui.ui.widgets.footer import FittingFooter
from gradtui.ui.widgets.header import RunHeader
from gradtui.ui.widgets.heatmap import FlowBox, FlowHeatmap
from gradtui.ui.widgets.layers import LayersTable, spark_scale
from gradtui.ui.widgets.loss import LossPlot, finite_losses, loss_series, wants_log

SIDES = "ABCDEFGH"  # one letter per run side by side (a sweep shows more than two)
LOWER = ("diagnoses", "chain", "flow")
LOWER_TITLE = {
    "diagnoses": "Diagnoses",
    "chain": "Chain rule · gain per link",
    "flow": "Gradient flow · log10 |∂L/∂W|",
}


class CompareScreen(RunScreen):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("p", "next_panel", "Panel")]

    def __init__(self, feeds, **kwargs) -> None:
        super().__init__(feeds, **kwargs)
        self.lower = "diagnoses"
        self._labelled = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="sides"):
            for index, _feed in enumerate(self.feeds):
                side = SIDES[index]
                with Vertical(id=f"side-{index}", classes="side"):
                    yield RunHeader(name=side)
                    with VerticalScroll(classes="panel layers-box") as box:
                        box.border_title = f"{side} · Layers · |∂L/∂W|"
                        yield LayersTable(compact=True)
                    loss = LossPlot(classes="panel loss")
                    loss.border_title = f"{side} · Loss"
                    yield loss
                    with ContentSwitcher(initial="diagnoses", classes="lower"):
                        with VerticalScroll(id="diagnoses", classes="panel") as box:
                            yield DiagnosisList()
                        with VerticalScroll(id="chain", classes="panel"):
                            yield ChainPanel()
                        with FlowBox(id="flow", classes="panel"):
                            yield FlowHeatmap(fit=True)
        yield FittingFooter()

    def on_mount(self) -> None:
        # Textual calls RunScreen.on_mount after this one (each class's handler in turn);
        # calling it here too started every worker twice.
        self._title_lower()

    def action_next_panel(self) -> None:
        self.lower = LOWER[(LOWER.index(self.lower) + 1) % len(LOWER)]
        for switcher in self.query(ContentSwitcher):
            switcher.current = self.lower
        self._title_lower()
        self.redraw()

    def _title_lower(self) -> None:
        following = LOWER[(LOWER.index(self.lower) + 1) % len(LOWER)]
        for index, side in enumerate(self.query(".side")):
            box = side.query_one(f"#{self.lower}")
            box.border_title = f"{SIDES[index]} · {LOWER_TITLE[self.lower]}"
            if self.lower != "flow":
                box.border_subtitle = f"p: {LOWER_TITLE[following].split(' ·')[0].lower()}"

    def _label_headers(self, histories: list) -> None:
        """Once every run has started, give each header the words that tell it apart."""
        started = [h.started for h in histories]
        if self._labelled or any(s is None for s in started):
            return
        self._labelled = True
        titles = [safe_line(s.title, 120) for s in started]
        names = [safe_line(s.scenario, 30) for s in started]
        shorts = distinct_titles(titles, names)
        for index, short in enumerate(shorts):
            header = self.query_one(f"#side-{index}").query_one(RunHeader)
            header.short_title = short
            header.refresh()

    def redraw(self, full: bool = True) -> None:
        histories = [feed.history for feed in self.feeds]
        scale = spark_scale(chain.from_iterable(h.sparks for h in histories))
        use_log, ylim = shared_loss_axis(histories)
        self._label_headers(histories)
        for index, feed in enumerate(self.feeds):
            side = self.query_one(f"#side-{index}")
            history = feed.history
            silent = feed.source.silent_seconds()
            every = feed.source.shown_every()
            side.query_one(RunHeader).show(history, self.paused, self.speed, silent, every)
            if history.started is not None:
                name = safe_line(history.started.scenario, 30)
                title = Text(f"{SIDES[index]} · {name} · Layers · |∂L/∂W|")
                side.query_one(".layers-box").border_title = title
            side.query_one(LayersTable).show(history, scale)
            low, high = scale
            subtitle = f"one scale for A and B: log10 {low:.1f} … {high:.1f}"
            side.query_one(".layers-box").border_subtitle = subtitle
            side.query_one(DiagnosisList).show(history)
            if full:
                side.query_one(LossPlot).show(history, use_log, ylim)
                if self.lower == "chain":
                    side.query_one(ChainPanel).show(history)
                elif self.lower == "flow":
                    side.query_one(FlowHeatmap).show(history)


def shared_loss_axis(histories: list[RunHistory]) -> tuple[bool, tuple[float, float] | None]:
    """One loss axis for every run: log10 when any spans decades, the range of all of them."""
    use_log = wants_log([v for h in histories for _, v in finite_losses(h)])
    values = [v for h in histories for v in loss_series(h, use_log)[1]]
    if not values:
        return use_log, None
    low, high = min(values), max(values)
    pad = (high / 2 - low / 2) * 0.1 or 0.5  # halves: the span of two huge losses overflows
    edge = sys.float_info.max
    return use_log, (max(low - pad, -edge), min(high + pad, edge))
