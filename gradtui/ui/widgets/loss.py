"""The loss over steps (textual-plotext), on log10 when it spans decades.

plotext's own log scale breaks when a plot is rebuilt, so log10 values go on a linear axis and
the axis label says so.
"""

from __future__ import annotations

import math

from textual_plotext import PlotextPlot

from gradtui.ui.format import waiting_text
from gradtui.ui.history import RunHistory

DECADES_FOR_LOG = 2.0  # switch to log10 when max/min loss spans this many decades


def finite_losses(history: RunHistory) -> list[tuple[int, float]]:
    steps, points = history.loss.view()
    return [(s, p[0]) for s, p in zip(steps, points, strict=True) if math.isfinite(p[0])]


def wants_log(values: list[float]) -> bool:
    positive = [v for v in values if v > 0]
    return bool(positive) and math.log10(max(positive) / min(positive)) >= DECADES_FOR_LOG


def loss_series(
    history: RunHistory, use_log: bool | None = None
) -> tuple[list[int], list[float], bool]:
    """Steps, values to plot, and whether the values are log10(loss); use_log None decides
    from this run's spread (compare decides once for both runs)."""
    pairs = finite_losses(history)
    positive = [v for _, v in pairs if v > 0]
    if use_log is None:
        use_log = wants_log([v for _, v in pairs])
    use_log = use_log and bool(positive)
    if use_log:
        floor = min(positive)
        return [s for s, _ in pairs], [math.log10(max(v, floor)) for _, v in pairs], True
    return [s for s, _ in pairs], [v for _, v in pairs], False


def step_ticks(last: int, most: int = 5) -> list[int]:
    """Whole-number ticks from 0 to about `last`, at a round spacing."""
    if last <= 0:
        return [0]
    raw = last / most
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    spacing = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return list(range(0, last + 1, int(spacing)))


class LossPlot(PlotextPlot):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._drawn: tuple | None = None

    def show(
        self,
        history: RunHistory,
        use_log: bool | None = None,
        ylim: tuple[float, float] | None = None,
    ) -> None:
        """use_log and ylim: compare puts both runs on one axis."""
        key = (history.key, use_log, ylim)
        if key == self._drawn:
            return
        self._drawn = key
        steps, values, use_log = loss_series(history, use_log)
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if ylim is not None:
            plt.ylim(*ylim)
        plt.xlabel("step")
        plt.ylabel("log10 loss" if use_log else "loss")
        if steps:
            plt.plot(steps, values, marker="hd", color="cyan")
            ticks = step_ticks(steps[-1])
            plt.xticks(ticks, [str(t) for t in ticks])
        nonfinite = history.first_nonfinite_step
        if nonfinite is not None:
            plt.vline(nonfinite, "red")
            plt.title(f"non-finite from step {nonfinite} (red line)")
        elif not steps:
            plt.title(waiting_text(history.ended))
        self.refresh()
