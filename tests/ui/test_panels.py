"""Panels redraw when what they show changes, and only then."""

from __future__ import annotations

from textual.app import App, ComposeResult

from gradtui.ui.history import RunHistory
from gradtui.ui.widgets.diagnoses import DiagnosisList
from tests.unit.diagnosis_fakes import chain, healthy, started


class ListApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DiagnosisList()


async def test_the_diagnosis_list_shows_a_finding_that_escalates_in_place() -> None:
    run = started(depth=6, activation="sigmoid")
    vanishing = chain(run, 0.1)
    stalled = (0.0,) + (1e-3,) * 6
    history = RunHistory()
    history.absorb(run)
    for s in range(4):
        history.absorb(healthy(run, s, block_grad_norm=vanishing))
    app = ListApp()
    async with app.run_test() as pilot:
        panel = app.query_one(DiagnosisList)
        panel.show(history)
        await pilot.pause()
        assert " WARNING  vanishing gradients" in str(panel.render())
        key = history.findings_key
        for s in range(4, 6):
            history.absorb(healthy(run, s, block_grad_norm=vanishing, update_ratio=stalled))
        assert history.findings_key != key and len(history.diagnoses()) == 1
        panel.show(history)
        await pilot.pause()
        shown = str(panel.render())
        assert " ERROR  vanishing gradients" in shown and "WARNING" not in shown
