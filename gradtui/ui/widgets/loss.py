"""The loss over steps (textual-plotext), on log10 when it spans decades.

plotext's own log scale breaks when a plot is rebuilt, so log10 values go on a linear axis,
labelled as powers of ten (1e-2, 1e0) so a tick never reads as a loss value. The raw loss is a
thin grey line; a smoothed trend (an exponential moving average, as TensorBoard smooths) is
drawn over it, so a noisy loss does not turn into a solid band.
"""

from __future__ import annotations

import math

from textual_plotext import PlotextPlot

from gradtui.ui.format import waiting_text
from gradtui.ui.history import RunHistory
from gradtui.ui.plotext_order import keep_plotext_order

keep_plotext_order()

DECADES_FOR_LOG = 2.0  # switch to log10 when max/min loss spans this many decades
SMOOTHING = 0.9  # the trend's EMA weight on the past
MIN_POINTS_FOR_TREND = 20
ROOMY_ROWS = 8  # a plot this tall has room for a title and for the raw steps under the trend


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


def smoothed(values: list[float], weight: float = SMOOTHING) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average, debiased so the first points
    are not pulled toward zero."""
    out, average = [], 0.0
    for n, value in enumerate(values, start=1):
        average = weight * average + (1 - weight) * value
        out.append(average / (1 - weight**n))
    return out


def even_ticks(low: float, high: float, most: int, whole: bool) -> list[float]:
    """As many ticks as fit in ``most`` (at least two when the range allows), at a round
    spacing (1, 2 or 5 times a power of ten; whole numbers when ``whole``), inside the range."""
    span = max(high - low, 1e-12)
    top = math.floor(math.log10(span))
    spacings = [m * 10.0**k for k in range(top - 2, top + 2) for m in (1, 2, 5)]
    for spacing in (s for s in spacings if not whole or (s >= 1 and s == int(s))):
        first, last = math.ceil(low / spacing - 1e-9), math.floor(high / spacing + 1e-9)
        if last - first + 1 <= most:
            return [k * spacing for k in range(first, last + 1)]
    return [round((low + high) / 2)] if whole else [(low + high) / 2]


def value_ticks(low: float, high: float, use_log: bool, most: int = 3) -> tuple[list, list]:
    """Evenly spaced y ticks inside [low, high] and their labels: whole powers of ten on the
    log10 axis (``1e-2``), round values on a linear one."""
    if use_log:
        ticks = [int(t) for t in even_ticks(low, high, most, whole=True)]
        return ticks, [f"1e{t}" for t in ticks]
    ticks = even_ticks(low, high, most, whole=False)
    return ticks, [f"{t:.3g}" for t in ticks]


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
        self._shown: tuple | None = None  # show's arguments, to draw again at a new size

    def on_resize(self) -> None:
        """A new height may make room for the title and the raw steps (or take it away)."""
        if self._shown is not None:
            self.show(*self._shown)

    def show(
        self,
        history: RunHistory,
        use_log: bool | None = None,
        ylim: tuple[float, float] | None = None,
    ) -> None:
        """use_log and ylim: compare puts both runs on one axis."""
        roomy = self.size.height >= ROOMY_ROWS
        key = (history.key, use_log, ylim, roomy)
        self._shown = (history, use_log, ylim)
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
        plt.ylabel("loss, log scale" if use_log else "loss")
        if steps:
            self._draw_loss(steps, values, roomy)
            ticks = step_ticks(steps[-1])
            plt.xticks(ticks, [str(t) for t in ticks])
            low, high = ylim if ylim is not None else (min(values), max(values))
            positions, labels = value_ticks(low, high, use_log)
            if not roomy:  # a row or two of plot: any label would sit beside the wrong value
                positions, labels = [], []
            plt.yticks(positions, labels)
        nonfinite = history.first_nonfinite_step
        if nonfinite is not None:
            plt.vline(nonfinite, "red")
            plt.title(f"non-finite from step {nonfinite} (red line)")
        elif not steps:
            plt.title(waiting_text(history.ended))
        elif roomy and len(values) >= MIN_POINTS_FOR_TREND:
            plt.title("grey: each step · cyan: smoothed trend")
        self.refresh()

    def _draw_loss(self, steps: list[int], values: list[float], roomy: bool) -> None:
        """The steps and the trend; a plot a few rows high shows the trend alone."""
        if len(values) < MIN_POINTS_FOR_TREND:
            self.plt.plot(steps, values, marker="hd", color="cyan")
            return
        if roomy:
            self.plt.plot(steps, values, marker="hd", color="gray")
        self.plt.plot(steps, smoothed(values), marker="hd", color="cyan")
