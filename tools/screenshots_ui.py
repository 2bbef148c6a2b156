"""`make screenshots`: SVG pictures of the real app, from seeded runs replayed to their end.

    python tools/screenshots_ui.py [FOLDER]

Each scenario is trained once here (torch loads in this command only, never on import), recorded,
and replayed through the same screens a user sees, at 120x40.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from gradtui.events import Event
from gradtui.recording import Recorder, read_recording
from gradtui.scenario.spec import discover, resolve
from gradtui.ui.app import GradApp
from gradtui.ui.screens.runscreen import RunScreen

SIZE = (120, 40)
SHOTS: dict[str, tuple[str, ...]] = {  # file name: scenarios replayed (none: the picker)
    "picker": (),
    "compare_sigmoid_relu": ("sigmoid_deep", "relu_deep"),
    "broken_graph": ("broken_graph",),
    "sigmoid_deep": ("sigmoid_deep",),
    "compare_clipping": ("exploding_no_clip", "exploding_clipped"),
}


def record(names: set[str], folder: Path) -> dict[str, list[Event]]:
    """Train each scenario at its own seed and steps; return the recorded events."""
    from gradtui.scenario.entry import load_trainer

    run = load_trainer()
    runs = {}
    for name in sorted(names):
        path = folder / f"{name}.jsonl"
        with Recorder(path) as recorder:
            run(resolve(name), recorder)
        runs[name] = read_recording(path).events
    return runs


async def ended(pilot) -> None:
    app = pilot.app
    while not isinstance(app.screen, RunScreen):
        await pilot.pause(0.05)
    while not all(feed.history.ended for feed in app.screen.feeds):
        await pilot.pause(0.05)
    await pilot.pause(0.3)
    app.clear_notifications()
    await pilot.pause(0.2)


async def shoot(app: GradApp, path: Path, before: Callable[..., Awaitable[None]]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await before(pilot)
        app.save_screenshot(path.name, str(path.parent))


async def settle(pilot) -> None:
    await pilot.pause(0.3)


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {name for names in SHOTS.values() for name in names}
    with tempfile.TemporaryDirectory() as scratch:
        runs = record(wanted, Path(scratch))
    # The pictures use the default theme, whatever this user saved; and save nothing of theirs.
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="gradtui-screenshots-")
    catalog = discover()
    for shot, names in SHOTS.items():
        app = GradApp(catalog, replays=[runs[n] for n in names], speed=None)
        path = folder / f"{shot}.svg"
        asyncio.run(shoot(app, path, ended if names else settle))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
