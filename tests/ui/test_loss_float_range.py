"""The loss plot over the whole float range: any finite loss a run reports is drawn, never a
crash (a finite loss of -1e308 used to overflow the tick code)."""

from __future__ import annotations

import math
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult

from gradtui.ui.history import RunHistory
from gradtui.ui.widgets.loss import LossPlot, even_ticks, loss_series, smoothed, value_ticks
from tests.unit.diagnosis_fakes import healthy, started

BIG = sys.float_info.max
finite = st.floats(allow_nan=False, allow_infinity=False)


def slack(low: float, high: float) -> float:
    return max(high / 2 - low / 2, max(abs(low), abs(high)) * 1e-9, 1e-290)


@given(finite, finite, st.integers(1, 8), st.booleans())
def test_ticks_are_finite_and_inside_any_finite_range(a: float, b: float, most: int, whole: bool):
    low, high = min(a, b), max(a, b)
    ticks = even_ticks(low, high, most, whole)
    assert ticks and all(math.isfinite(t) for t in ticks)
    room = max(slack(low, high), 1.0 if whole else 0.0)  # a whole tick may be the nearest one
    assert all(low - room <= t <= high + room for t in ticks)
    positions, labels = value_ticks(low, high, use_log=False)
    assert len(positions) == len(labels) and all(labels)


def test_ticks_refuse_what_is_not_a_range():
    assert even_ticks(math.nan, 1.0, 3, False) == []
    assert even_ticks(0.0, math.inf, 3, False) == []
    assert even_ticks(2.0, 1.0, 3, False) == []


@given(st.lists(finite, min_size=1, max_size=40))
def test_the_trend_and_the_series_stay_finite(values: list[float]):
    assert all(math.isfinite(v) for v in smoothed(values))


def history_of(losses: list[float]) -> RunHistory:
    run = started(depth=3)
    history = RunHistory()
    history.absorb(run)
    for step, loss in enumerate(losses):
        history.absorb(healthy(run, step, loss=loss))
    return history


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=30))
@settings(max_examples=60)
def test_the_series_is_finite_whatever_the_losses(losses: list[float]):
    steps, values, _ = loss_series(history_of(losses))
    assert len(steps) == len(values) and all(math.isfinite(v) for v in values)


class PlotApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LossPlot()


EXTREMES = [
    [-1e308] * 3 + [1.0] * 30,
    [-BIG, BIG, 0.0, 5e-324],
    [5e-324, 1e-320, 2e-310] * 10,
    [1e308, 1e-300] * 15,
    [-1.0, math.nan, -1e300, math.inf],
]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_plot_draws_extreme_losses(size: tuple[int, int]) -> None:
    app = PlotApp()
    async with app.run_test(size=size) as pilot:
        plot = app.query_one(LossPlot)
        for losses in EXTREMES:
            plot.show(history_of(losses))
            await pilot.pause()
            assert plot.render()  # plotext built its canvas
        plot.show(history_of([1.0, 2.0]), ylim=(-BIG, BIG))
        await pilot.pause()


def test_compare_shares_one_finite_axis_for_huge_losses():
    from gradtui.ui.screens.compare import shared_loss_axis

    use_log, ylim = shared_loss_axis([history_of([-BIG, 0.0]), history_of([BIG, BIG])])
    assert not use_log
    assert ylim is not None and all(math.isfinite(edge) for edge in ylim)
    assert ylim[0] <= -1e308 and ylim[1] >= 1e308
