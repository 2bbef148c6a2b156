"""Compare: two runs named A and B, on one scale, the lower panel switched with p."""

from __future__ import annotations

from textual.widgets import ContentSwitcher

from gradtui.ui.screens.compare import CompareScreen
from gradtui.ui.widgets.diagnoses import DiagnosisList
from gradtui.ui.widgets.header import RunHeader
from gradtui.ui.widgets.layers import LayersTable
from gradtui.ui.widgets.loss import LossPlot
from tests.ui.conftest import wait_for


def compare_app(make_app, recorded_events):
    events = [recorded_events["sigmoid_deep"], recorded_events["relu_deep"]]
    return make_app(replays=events, speed=None)


async def ended(pilot) -> CompareScreen:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
    await wait_for(pilot, lambda: all(f.history.ended for f in app.screen.feeds))
    await pilot.pause(0.3)
    return app.screen


async def test_both_sides_share_one_scale_and_are_named(make_app, recorded_events) -> None:
    app = compare_app(make_app, recorded_events)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ended(pilot)
        low, high = (table.scale for table in screen.query(LayersTable))
        assert low == high and low[0] < -15 and low[1] > 0  # sigmoid's fan and ReLU's ~1
        axes = {plot._drawn[1:] for plot in screen.query(LossPlot)}
        assert len(axes) == 1
        labels = [header.label for header in screen.query(RunHeader)]
        assert labels == ["A", "B"]
        titles = [str(box.border_title) for box in screen.query(".layers-box")]
        assert "A · sigmoid_deep" in titles[0] and "B · relu_deep" in titles[1]
        for header in screen.query(RunHeader):
            shown = header.render().plain
            assert "step 40/40" in shown and "speed max" in shown


async def test_p_switches_the_lower_panel_on_both_sides(make_app, recorded_events) -> None:
    app = compare_app(make_app, recorded_events)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ended(pilot)
        currents = lambda: [s.current for s in screen.query(ContentSwitcher)]  # noqa: E731
        assert currents() == ["diagnoses", "diagnoses"]
        await pilot.press("p")
        assert currents() == ["chain", "chain"]
        await pilot.pause(0.2)
        assert "product of the gains" in str(screen.query("ChainPanel").first().render())
        await pilot.press("p", "p")
        assert currents() == ["diagnoses", "diagnoses"]


async def test_at_80x24_the_diagnoses_with_why_are_in_view(make_app, recorded_events) -> None:
    app = compare_app(make_app, recorded_events)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ended(pilot)
        for panel in screen.query(DiagnosisList):
            region = panel.parent.region
            assert region.height >= 6 and region.bottom <= 23  # above the footer
            assert "why:" in str(panel.render())
