"""Panels redraw when what they show changes, and only then."""

from __future__ import annotations

import itertools
import math

import pytest
from textual.app import App, ComposeResult

from gradtui.ui.format import BANDS, MISSING_COLOUR, band_colour, legend_labels
from gradtui.ui.history import RunHistory
from gradtui.ui.widgets.chain import ChainPanel, link_labels
from gradtui.ui.widgets.diagnoses import DiagnosisList
from gradtui.ui.widgets.heatmap import legend_text, row_label
from gradtui.ui.widgets.layers import cut_middle, layer_label
from gradtui.ui.widgets.loss import smoothed, value_ticks
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


async def test_steps_that_did_not_read_the_chain_leave_the_last_one_on_screen() -> None:
    """Under gradtui.watch most steps carry no chain (it is read on heavy steps): the panel
    keeps the last chain read, and a run that reads it again shows the new one."""
    run = started(depth=3)
    history = RunHistory()
    history.absorb(run)
    history.absorb(healthy(run, 0, block_grad_norm=(0.0, 0.0, 0.2, 0.3)))
    for step in range(1, 5):
        history.absorb(healthy(run, step, block_grad_norm=None))
    (before,) = await chain_text(history)
    assert "blocks.2 passes no gradient" in before
    assert "the chain at step 0: it is read every" in before and "nan/inf" not in before
    history.absorb(healthy(run, 5, block_grad_norm=chain(run, 0.9)))
    history.absorb(healthy(run, 6, block_grad_norm=(math.nan,) * len(run.blocks)))
    (after,) = await chain_text(history)
    assert "passes no gradient" not in after and "product of the gains" in after
    assert "the chain at step 5: the latest step's chain has nan/inf" in after


async def test_a_watched_run_with_no_chain_read_yet_says_so() -> None:
    run = started(depth=3)
    history = RunHistory()
    history.absorb(run)
    history.absorb(healthy(run, 0, block_grad_norm=None))
    (shown,) = await chain_text(history)
    assert shown.startswith("no chain read yet: it is read every")


def test_chain_columns_are_labelled_by_the_blocks_the_layers_panel_names() -> None:
    """A Sequential's blocks 0, 2, 4 ... label the columns as 0, 2, 4 (not 0, 1, 2); a
    scenario's blocks.3 is 3 and its head is H; the last column always shows."""
    sequential = [str(i) for i in range(0, 18, 2)]
    assert link_labels(sequential, 3).split() == sequential
    scenario = [f"blocks.{i}" for i in range(4)] + ["head"]
    assert link_labels(scenario, 2).split() == ["0", "1", "2", "3", "H"]
    assert link_labels(sequential, 1).split()[-1] == "16"


def test_a_bare_position_gets_its_kind_and_long_names_are_cut_in_the_middle() -> None:
    assert layer_label("4", "Linear") == "4 (Linear)"
    assert layer_label("blocks.3.linear", "Linear") == "blocks.3.linear"
    assert layer_label("[red]0", "Linear") == "[red]0"  # data, shown as it is
    cut = cut_middle("encoder.layers.11.attention.output.dense", 16)
    assert len(cut) == 16 and cut.startswith("encoder") and cut.endswith("dense")


def test_the_trend_is_a_debiased_moving_average_and_ticks_are_even() -> None:
    assert smoothed([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])  # no pull toward 0
    noisy = [1.0 if n % 2 else 0.0 for n in range(200)]
    assert max(smoothed(noisy)[50:]) - min(smoothed(noisy)[50:]) < 0.2 < 1.0
    positions, labels = value_ticks(-3.4, 0.2, use_log=True)
    assert labels == ["1e-2", "1e0"]  # powers of ten, never read as loss values
    assert value_ticks(-2.3, 27.0, use_log=True)[1] == ["1e0", "1e10", "1e20"]
    assert len({b - a for a, b in itertools.pairwise(positions)}) <= 1
    positions, labels = value_ticks(0.62, 1.55, use_log=False)
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(positions)}
    assert len(gaps) == 1 and all(0.62 <= p <= 1.55 for p in positions)


def test_the_legend_is_an_even_labelled_bar_and_none_is_visible() -> None:
    edges = [float(edge) for edge, _ in legend_labels()[: len(BANDS) - 1]]
    assert len({b - a for a, b in itertools.pairwise(edges)}) == 1
    assert "none" in legend_text().plain and MISSING_COLOUR not in ("#000000", "black")
    assert band_colour(math.nan) == MISSING_COLOUR


def test_heatmap_rows_are_named_like_the_layers() -> None:
    assert [row_label(n) for n in ("blocks.3.linear", "16", "head", "enc.11.out")] == [
        "3",
        "16",
        "H",
        "11",
    ]
