"""A model of 20,000 layers: the dashboard builds only the rows in view (Textual's line API),
so its first step shows as soon as a small model's would, and scrolling reaches the last."""

from __future__ import annotations

from pathlib import Path

from benchmarks.many_layers import many_layers, write
from gradtui.recording.reader import read_run
from gradtui.scenario.spec import discover
from gradtui.ui.app import GradApp
from gradtui.ui.screens.dashboard import DashboardScreen
from gradtui.ui.widgets.layers import LayersTable, label_length, layer_label
from tests.ui.conftest import wait_for

LAYERS = 20_000
STEPS = 3
IN_VIEW = 40  # the test's terminal is 40 lines high


async def test_twenty_thousand_layers_build_only_the_rows_in_view(tmp_path: Path) -> None:
    loaded = read_run(write(tmp_path / "many.jsonl", many_layers(LAYERS, STEPS)))
    app = GradApp(catalog=discover(), replays=[loaded.events], speed=None, own_runs=True)
    async with app.run_test(size=(120, IN_VIEW)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), 120)
        screen = app.screen
        table = screen.query_one(LayersTable)
        await wait_for(pilot, lambda: screen.feed.history.ended and table.rows_built > 0, 300)
        await pilot.pause(0.5)
        assert len(screen.feed.history.started.layers) == LAYERS
        assert table.size.height == LAYERS  # the panel is as tall as the model: it scrolls
        assert 0 < table.deepest_row < IN_VIEW
        assert table.rows_built <= 20 * IN_VIEW  # a few paints of what is in view, not 20,000
        assert len(list(screen.walk_children())) < 100  # rows are lines, not widgets
        box = screen.query_one("#layers-box")
        box.scroll_end(animate=False)
        await wait_for(pilot, lambda: table.deepest_row == LAYERS - 1, 120)
        row = str(table.row(LAYERS - 1))
        assert row.startswith("blocks.1") and "99.linear" in row and " ok " in row  # cut: …


def test_label_length_is_the_labels_length():
    names = [("blocks.3.linear", "Linear"), ("4", "Linear"), ("0.1", "Conv2d"), ("", ""),
             ("x" * 130, "Linear"), ("7", "K" * 40), ("a\tb", "Linear"), ("ok\u202e", "L"),
             ("[bold]x[/]", "Linear"), ("é.ü", "")]  # fmt: skip
    for name, kind in names:
        assert label_length(name, kind) == len(layer_label(name, kind)), (name, kind)
