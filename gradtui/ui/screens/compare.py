"""Two runs side by side in lock step, each a compact dashboard."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer

from gradtui.ui.screens.runscreen import RunScreen
from gradtui.ui.widgets.diagnoses import DiagnosisList
from gradtui.ui.widgets.header import RunHeader
from gradtui.ui.widgets.layers import LayersTable
from gradtui.ui.widgets.loss import LossPlot


class CompareScreen(RunScreen):
    def compose(self) -> ComposeResult:
        with Horizontal(id="sides"):
            for index, _feed in enumerate(self.feeds):
                with Vertical(id=f"side-{index}", classes="side"):
                    yield RunHeader()
                    with VerticalScroll(classes="panel layers-box") as box:
                        box.border_title = "Layers · |∂L/∂W| (sparkline: log10)"
                        yield LayersTable(compact=True)
                    loss = LossPlot(classes="panel loss")
                    loss.border_title = "Loss"
                    yield loss
                    with VerticalScroll(classes="panel diag-box") as box:
                        box.border_title = "Diagnoses"
                        yield DiagnosisList(compact=True)
        yield Footer()

    def redraw(self, full: bool = True) -> None:
        for index, feed in enumerate(self.feeds):
            side = self.query_one(f"#side-{index}")
            history = feed.history
            silent = feed.source.silent_seconds()
            side.query_one(RunHeader).show(history, self.paused, self.speed, silent)
            layers = side.query_one(LayersTable)
            layers.show(history)
            side.query_one(".layers-box").border_subtitle = layers.scale_label()
            if full:
                side.query_one(LossPlot).show(history)
            side.query_one(DiagnosisList).show(history)
