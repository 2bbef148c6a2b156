"""attach on a recording that `gradtui run --record` is writing in another process.

tests/ui/test_attach.py follows `gradtui.watch`'s writer (examples/plain_mlp.py) without keys;
here the writer is the scenario trainer, and the user presses keys as the file grows: pause
before the first step arrives, resume once the writer is done, and quit right after the end.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gradtui.scenario.spec import discover
from gradtui.ui.attach import AttachApp
from gradtui.ui.screens.dashboard import DashboardScreen
from gradtui.ui.widgets.header import RunHeader
from tests.ui.conftest import wait_for
from tests.ui.live_helpers import STARTUP_S, STEPS

SIZES = ((80, 24), (120, 40))


def start_writer(path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "gradtui", "run", "tiny_overfit", "--steps", str(STEPS)]
    return subprocess.Popen(
        [*command, "--record", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
async def test_attach_follows_a_scenario_run_as_it_is_written(tmp_path: Path, size) -> None:
    path = tmp_path / "run.jsonl"
    writer = start_writer(path)  # the file does not exist yet: the worker imports torch first
    try:
        app = AttachApp([path], catalog=discover())
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), 10)
            screen = app.screen
            await pilot.press("p", "space")  # p has no panel to cycle on one run: ignored
            assert screen.paused and screen.feed.source.paused
            await pilot.pause()
            _, errors = writer.communicate(timeout=STARTUP_S)
            assert writer.returncode == 0, errors
            history = screen.feed.history
            await pilot.pause(0.5)  # the whole file is there; a paused screen takes no step
            assert history.steps_seen == 0
            await pilot.press("space")
            await wait_for(pilot, lambda: history.ended, 30)
            assert history.state == "finished" and history.steps_seen == STEPS
            assert history.started is not None and history.started.scenario == "tiny_overfit"
            header = screen.query_one(RunHeader)
            # The header redraws on the screen's next tick after the end arrives.
            await wait_for(pilot, lambda: "finished" in header._text.plain, 10)
            assert f"step {STEPS}/{STEPS}" in header._text.plain
            assert app.return_code is None
            await pilot.press("p", "space", "q")
            assert app.return_code == 0  # q quit the app
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(10)
