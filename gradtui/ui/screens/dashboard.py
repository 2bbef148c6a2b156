"""One run: header, layers, loss, diagnoses, chain and gradient-flow heatmap."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, VerticalScroll

from gradtui.ui.feed import RunFeed
from gradtui.ui.screens.runscreen import RunScreen
from gradtui.ui.widgets.chain import ChainPanel
from gradtui.ui.widgets.diagnoses import DiagnosisList
from gradtui.ui.widgets.footer import FittingFooter
from gradtui.ui.widgets.header import RunHeader
from gradtui.ui.widgets.heatmap import FlowBox, FlowHeatmap
from gradtui.ui.widgets.layers import LayersTable
from gradtui.ui.widgets.loss import LossPlot


class DashboardScreen(RunScreen):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("c", "compare", "Compare")]

    def __init__(self, feed: RunFeed, **kwargs) -> None:
        super().__init__([feed], **kwargs)
        self.feed = feed

    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        with Horizontal(id="body"):
            with VerticalScroll(id="left"):
                with VerticalScroll(id="layers-box", classes="panel") as box:
                    box.border_title = "Layers · |∂L/∂W| (L2 norm of the weight gradient)"
                    yield LayersTable()
                with FlowBox(id="heat-box", classes="panel") as box:
                    box.border_title = "Gradient flow · log10 |∂L/∂W|, layers × steps"
                    yield FlowHeatmap()
            with VerticalScroll(id="right"):
                loss = LossPlot(id="loss", classes="panel")
                loss.border_title = "Loss"
                yield loss
                with VerticalScroll(id="diag-box", classes="panel") as box:
                    box.border_title = "Diagnoses"
                    yield DiagnosisList()
                with Container(id="chain-box", classes="panel") as box:
                    box.border_title = "Chain rule · gain per link, latest step"
                    yield ChainPanel()
        yield FittingFooter()

    def redraw(self, full: bool = True) -> None:
        history = self.feed.history
        silent = self.feed.source.silent_seconds()
        every = self.feed.source.shown_every()
        self.query_one(RunHeader).show(history, self.paused, self.speed, silent, every)
        layers = self.query_one(LayersTable)
        layers.show(history)
        self.query_one("#layers-box").border_subtitle = layers.scale_label()
        self.query_one(DiagnosisList).show(history)
        if full:
            self.query_one(LossPlot).show(history)
            self.query_one(FlowHeatmap).show(history)
            self.query_one(ChainPanel).show(history)

    def action_compare(self) -> None:
        if self.app.own_runs:
            self.app.compare_with_file(self)
        else:
            self.app.pick_partner(self.feed.source.scenario or None)
