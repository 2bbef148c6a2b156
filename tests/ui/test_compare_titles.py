"""Compare's narrow headers keep what tells the runs apart: the scenario where the titles
share nothing, the learning rate of a sweep."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradtui.learn.sweep import sweep_specs
from gradtui.scenario.spec import discover, resolve
from gradtui.ui.app import GradApp
from gradtui.ui.screens.compare import CompareScreen
from gradtui.ui.titles import distinct_titles
from gradtui.ui.widgets.header import RunHeader
from tests.ui.conftest import wait_for
from tests.ui.live_helpers import STARTUP_S, recording_starts
from tests.ui.test_compare import compare_app, ended

SWEEP = "lr {} · Diverging run, no clipping"


def test_the_words_every_title_shares_are_dropped():
    titles = [SWEEP.format(lr) for lr in ("0.01", "0.05", "0.25")]
    assert distinct_titles(titles, ["a", "b", "c"]) == ["lr 0.01", "lr 0.05", "lr 0.25"]
    deep = ["Deep sigmoid stack", "The sigmoid stack with ReLU instead"]
    assert distinct_titles(deep, ["sigmoid_deep", "relu_deep"]) == ["sigmoid_deep", "relu_deep"]
    detach = ["A .detach() in the middle", "A .detach() in the middle, without the detach"]
    assert distinct_titles(detach, ["broken", "broken_no_detach"]) == [
        "broken",
        "without the detach",
    ]


@given(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=12)), min_size=1, max_size=4))
def test_one_label_per_run_whatever_the_titles(runs):
    titles, names = zip(*runs, strict=True)
    labels = distinct_titles(titles, names)
    assert len(labels) == len(titles)
    for label, title, name in zip(labels, titles, names, strict=True):
        assert label in (title, name) or set(label.split()) <= set(title.split())


def header_texts(screen) -> list[str]:
    return [header.render().plain for header in screen.query(RunHeader)]


async def test_at_80_columns_each_side_names_its_scenario(make_app, recorded_events) -> None:
    app = compare_app(make_app, recorded_events)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ended(pilot)
        a, b = header_texts(screen)
        assert "sigmoid_deep" in a and "relu_deep" in b, (a, b)
        assert "step 40/40" in a and "step 40/40" in b


@pytest.mark.slow
@pytest.mark.parametrize(
    ("size", "lrs"), [((80, 24), (0.01, 0.05)), ((120, 40), (0.01, 0.05, 0.25))]
)
async def test_a_live_sweep_shows_each_rate(monkeypatch, size, lrs) -> None:
    """The README's `sweep --live`, on real training processes, keys pressed as they start."""
    specs = sweep_specs(resolve("exploding_no_clip"), list(lrs))
    with recording_starts(monkeypatch) as started:
        app = GradApp(discover(), start=specs, speed=None, make_source=started.make)
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
            await pilot.press("p", "p", "p")  # switch panels while the workers import torch
            screen = app.screen
            await wait_for(pilot, lambda: all(f.history.ended for f in screen.feeds), STARTUP_S)
            await pilot.pause(0.3)
            texts = header_texts(screen)
            for lr, text in zip(lrs, texts, strict=True):
                assert f"lr {lr:g}" in text, texts
            started.assert_each_started_once()
            assert len(started.starts) == len(lrs)
            await pilot.press("q")
        started.assert_all_gone()
