"""The UI never imports torch: importing it, and replaying a run headless, leave torch out."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import asyncio, pkgutil, sys
    from pathlib import Path

    import gradtui.cli
    import gradtui.ui
    for module in pkgutil.walk_packages(gradtui.ui.__path__, "gradtui.ui."):
        __import__(module.name)
    assert "torch" not in sys.modules, "importing the UI loaded torch"

    from gradtui.recording import read_recording
    from gradtui.ui.app import GradApp

    async def replay() -> None:
        events = read_recording(Path(sys.argv[1])).events
        app = GradApp(replays=[events], speed=None)
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(100):
                await pilot.pause(0.05)
                if app.screen.feed.history.ended:
                    break
            assert app.screen.feed.history.steps_seen > 0
            await pilot.press("r", "space", "n", "question_mark", "escape", "escape")

    asyncio.run(replay())
    print("torch" in sys.modules)
    """
)


def test_ui_and_replay_never_import_torch(recordings: dict[str, Path]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(recordings["exploding_no_clip"])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_help_and_list_stay_torch_free() -> None:
    code = "import sys, gradtui.cli as c; c.main(['list']); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


LEARN_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys

    from gradtui.ui.learn_app import LearnApp
    from gradtui.ui.screens.course import CourseScreen
    from gradtui.ui.screens.handprop import HandpropScreen

    async def learn() -> None:
        app = LearnApp()
        async with app.run_test(size=(120, 40)) as pilot:
            while not isinstance(app.screen, CourseScreen):
                await pilot.pause(0.05)
            await pilot.press("enter")  # lesson 1: autograd's values come from a worker
            for _ in range(1200):
                await pilot.pause(0.05)
                if isinstance(app.screen, HandpropScreen) and app.screen.ready:
                    break
            assert app.screen.ready, app.screen.error
            await pilot.press("right", "a", "escape", "escape")

    asyncio.run(learn())
    print("torch" in sys.modules)
    """
)


def test_the_course_and_hand_backprop_screens_never_import_torch(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", LEARN_SCRIPT],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_the_ui_tests_never_import_torch() -> None:
    """Every module of tests/ui imports without torch: the UI tests replay committed
    recordings (tests/fixtures/ui), they do not train."""
    code = (
        "import pkgutil, sys, tests.ui\n"
        "for module in pkgutil.iter_modules(tests.ui.__path__, 'tests.ui.'):\n"
        "    __import__(module.name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('tests.ui.')))\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    *_, imported, torch_loaded = result.stdout.strip().splitlines()
    assert "tests.ui.test_snapshots" in imported and "tests.ui.conftest" in imported
    assert torch_loaded == "False"
