"""Panels redraw when what they show changes, and only then."""

from __future__ import annotations

from textual.app import App, ComposeResult

from gradtui.ui.history import RunHistory
from gradtui.ui.widgets.chain import ChainPanel
from gradtui.ui.widgets.diagnoses import DiagnosisList
from tests.unit.diagnosis_fakes import chain, healthy, one_link, started


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


class ChainApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ChainPanel()


def one_step(run, block_grad_norm: tuple[float, ...]) -> RunHistory:
    history = RunHistory()
    history.absorb(run)
    history.absorb(healthy(run, 0, block_grad_norm=block_grad_norm))
    return history


async def chain_text(*histories: RunHistory) -> list[str]:
    """What the chain panel shows for each history in turn."""
    shown = []
    app = ChainApp()
    async with app.run_test(size=(60, 14)) as pilot:
        panel = app.query_one(ChainPanel)
        for history in histories:
            panel.show(history)
            await pilot.pause()
            shown.append(str(panel.render()))
    return shown


async def test_the_chain_panel_says_why_a_one_link_run_has_no_gains() -> None:
    many = started(depth=3)
    one, several = await chain_text(one_step(one_link(), (0.25,)), one_step(many, chain(many, 0.9)))
    assert one.startswith("|∂L/∂output| 2.50e-01")
    assert "no link between blocks" in one and "product of the gains" not in one
    assert "product of the gains" in several


async def test_the_chain_panel_blames_the_block_that_stops_the_gradient() -> None:
    """A block whose units all died passes back exactly zero: that link is broken, and the
    links before it, which no gradient reaches, are unknown rather than broken too."""
    (shown,) = await chain_text(one_step(started(depth=3), (0.0, 0.0, 0.2, 0.3)))
    assert "blocks.2 passes no gradient" in shown
    assert "links pass no gradient" not in shown
