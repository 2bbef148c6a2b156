"""Time to first paint of a replay of a very deep model, in the headless dashboard.

A recording of --steps steps of a model with N layers (synthetic, one block a layer) is written
to a file, read back as ``gradtui replay`` reads it, and shown at 120x40 by the headless app;
printed per N: the seconds from the app's start to the dashboard showing the first step (the
Layers panel has drawn a row), to the end of the replay, and how many rows of the Layers panel
were built. The Layers panel draws a line at a time (only the rows in view); with
--baseline the same replay runs with the panel drawn whole, as it was before (every row built
each paint), for the sizes up to --baseline-max.

    python benchmarks/many_layers.py                    # 1,000, 20,000 and 100,000 layers
    python benchmarks/many_layers.py --layers 5000 --baseline
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from textual.widget import Widget

from gradtui.events import Event, LayerInfo, RunFinished, RunStarted, StepStats
from gradtui.recording.codec import event_to_json
from gradtui.recording.parser import FORMAT
from gradtui.recording.reader import read_run
from gradtui.scenario.spec import discover
from gradtui.ui.app import GradApp
from gradtui.ui.screens.dashboard import DashboardScreen
from gradtui.ui.widgets.layers import LayersTable


def many_layers(count: int, steps: int) -> list[Event]:
    """A run of ``count`` layers, one block each (tests/ui/test_many_layers.py uses it too)."""
    layers = tuple(LayerInfo(f"blocks.{i}.linear", "Linear", i, 4160) for i in range(count))
    blocks = tuple(f"blocks.{i}" for i in range(count))
    events: list[Event] = [RunStarted("many", "many layers", "", {}, layers, blocks, steps, 10)]
    for step in range(steps):
        norms = tuple(1.0 + i / count for i in range(count))
        zeros, ones, small = (0,) * count, (2.0,) * count, (1e-3,) * count
        events.append(StepStats(step, 1.0, 1.0, None, norms, zeros, ones, small, norms))
    events.append(RunFinished(steps))
    return events


def write(path: Path, events: list[Event]) -> Path:
    lines = [json.dumps({"format": FORMAT}), *(event_to_json(e) for e in events)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def first_paint(events: list, ended_too: bool = True) -> tuple[float, float, int]:
    app = GradApp(catalog=discover(), replays=[events], speed=None, own_runs=True)
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        while not isinstance(app.screen, DashboardScreen):
            await pilot.pause(0.01)
        screen = app.screen
        table = screen.query_one(LayersTable)
        while screen.feed.history.latest is None or table.rows_built == 0:
            await pilot.pause(0.01)
        shown = time.perf_counter() - started
        while ended_too and not screen.feed.history.ended:
            await pilot.pause(0.01)
        await pilot.pause(0.1)
        return shown, time.perf_counter() - started, table.rows_built


def drawn_whole() -> None:
    """The panel as it was: Textual renders the whole widget, every row, on each paint."""
    LayersTable.render_line = Widget.render_line  # type: ignore[method-assign]

    def counted(self: LayersTable):  # type: ignore[no-untyped-def]
        count = len(self.history.started.layers) if self.history and self.history.started else 1
        self.rows_built += count
        return type(self).whole(self)

    LayersTable.whole = LayersTable.render  # type: ignore[attr-defined]
    LayersTable.render = counted  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[1_000, 20_000, 100_000])
    parser.add_argument("--steps", type=int, default=3, help="steps in each recording")
    parser.add_argument("--baseline", action="store_true", help="also the panel drawn whole")
    parser.add_argument("--baseline-max", type=int, default=5_000, help="its largest model")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for count in args.layers:
            path = write(Path(folder) / f"many_{count}.jsonl", many_layers(count, args.steps))
            events = read_run(path).events
            rows.append(("line API", count, *asyncio.run(first_paint(events))))
        if args.baseline:
            drawn_whole()
            for count in (c for c in args.layers if c <= args.baseline_max):
                events = read_run(Path(folder) / f"many_{count}.jsonl").events
                rows.append(("drawn whole", count, *asyncio.run(first_paint(events))))
    print(
        f"{'panel':<12} {'layers':>8} {'first paint s':>14} {'replayed s':>11} {'rows built':>11}"
    )
    for how, count, shown, ended, built in rows:
        print(f"{how:<12} {count:>8,} {shown:>14.1f} {ended:>11.1f} {built:>11,}")


if __name__ == "__main__":
    main()
