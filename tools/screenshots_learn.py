"""Pictures for the README's Learn and Check sections (part of ``make screenshots``).

    python tools/screenshots_learn.py [FOLDER]

The lesson is trained here at its scenarios' seeds and replayed, the hand-backprop screen asks
its worker as it does for a learner, and the checklist is the text ``gradtui check`` prints.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import tempfile
from pathlib import Path

SIZE = (120, 40)


async def _learn_shots(folder: Path) -> None:
    from gradtui.events import Event
    from gradtui.recording import Recorder, read_recording
    from gradtui.scenario.loop import run
    from gradtui.scenario.spec import ScenarioSpec, discover
    from gradtui.ui.learn_app import LearnApp
    from gradtui.ui.screens.course import CourseScreen
    from gradtui.ui.sources import ReplaySource

    runs: dict[str, list[Event]] = {}

    def replay(spec: ScenarioSpec, speed: float | None) -> ReplaySource:
        if spec.name not in runs:
            path = folder / f".{spec.name}.jsonl"
            with Recorder(path) as recorder:
                run(spec, recorder)
            runs[spec.name] = read_recording(path).events
            path.unlink()
        return ReplaySource(runs[spec.name], speed)

    async def wait(pilot, condition) -> None:
        while not condition():
            await pilot.pause(0.05)

    app = LearnApp(discover(), make_source=replay, speed=None)
    async with app.run_test(size=SIZE) as pilot:
        await wait(pilot, lambda: isinstance(app.screen, CourseScreen))
        await pilot.press("down", "enter")
        await wait(pilot, lambda: all(f.history.ended for f in getattr(app.screen, "feeds", [])))
        await pilot.pause(0.3)
        await pilot.press("a")
        app.clear_notifications()
        await pilot.pause(0.3)
        app.save_screenshot("learn_lesson.svg", str(folder))
        await pilot.press("escape", "up", "enter")
        await wait(pilot, lambda: getattr(app.screen, "ready", False))
        await pilot.press(*["right"] * 5)
        await pilot.pause(0.3)
        app.save_screenshot("learn_handprop.svg", str(folder))


def _check_shot(folder: Path) -> None:
    from rich.console import Console
    from rich.text import Text

    from gradtui.check.load import load_target
    from gradtui.check.run import check

    report = check(*load_target("examples/check_before_training.py:make"), show=False)
    console = Console(record=True, width=100, file=io.StringIO())
    console.print(Text("$ gradtui check examples/check_before_training.py:make\n", "bold"))
    console.print(Text(str(report)))
    console.save_svg(str(folder / "check.svg"), title="gradtui check")


def main(argv: list[str]) -> int:
    import torch

    torch.set_num_threads(1)
    folder = Path(argv[0] if argv else "screenshots").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as config:
        os.environ["XDG_CONFIG_HOME"] = config  # the pictures show no one's progress
        asyncio.run(_learn_shots(folder))
    _check_shot(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
