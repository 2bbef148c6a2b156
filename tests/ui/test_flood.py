"""A recording flooded with findings: a few toasts, then a count; the panel still has them all."""

from __future__ import annotations

from gradtui.events import Diagnosis, Event, LayerInfo, RunFinished, RunStarted, StepStats
from gradtui.scenario.spec import discover
from gradtui.ui.app import GradApp
from gradtui.ui.screens.dashboard import DashboardScreen
from gradtui.ui.screens.runscreen import TOAST_BURST
from tests.ui.conftest import wait_for

FINDINGS = 2000


def flooded() -> list[Event]:
    """A 2,000-step run with a new warning (of its own kind) at every step."""
    layers = (LayerInfo("fc", "Linear", 0, 10),)
    events: list[Event] = [RunStarted("flood", "flood", "", {}, layers, ("fc",), 0, 1)]
    for i in range(FINDINGS):
        events.append(StepStats(i, 1.0, 1.0, None, (1.0,), (0,), (2.0,), (1e-3,), (0.5,)))
        events.append(Diagnosis(f"flood_{i}", "warning", i, ("fc",), "what", "why", "fix"))
    events.append(RunFinished(FINDINGS))
    return events


async def test_two_thousand_findings_make_a_handful_of_toasts() -> None:
    app = GradApp(catalog=discover(), replays=[flooded()], speed=None, own_runs=True)
    shown: list[str] = []
    notify = app.notify

    def counted(message: str, *args, **kwargs) -> None:
        shown.append(message)
        notify(message, *args, **kwargs)

    app.notify = counted  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.feed.history.ended, 60)
        await pilot.pause(0.5)
        kinds = {d.kind for d in screen.feed.history.diagnoses()}
        assert {f"flood_{i}" for i in range(FINDINGS)} <= kinds  # the panel has every one
    assert TOAST_BURST <= len(shown) <= 3 * (TOAST_BURST + 1), shown
    assert any("more findings: the Diagnoses panel lists all" in line for line in shown)
