"""A screen that crashes makes its command exit non-zero: launch (the picker and a run), learn
(the course and a lesson), sweep --live, replay (one file and two) and attach (one file and a
run's rank files), each run through ``gradtui.cli.main`` with the app headless.

The crash is a screen's method monkeypatched to raise, in this process: no training process
is started (the run screens crash before they start their sources)."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest
from textual.app import App

from gradtui.cli import main
from gradtui.ui.screens.course import CourseScreen
from gradtui.ui.screens.picker import PickerScreen
from gradtui.ui.screens.runscreen import RunScreen
from tests.ui.conftest import FIXTURES

CRASH = "a screen crash, for a test"
GIVE_UP_S = 60.0  # should the crash never come: the app quits with 0, and the test fails


class ScreenCrash(RuntimeError):
    pass


def _crash(*_args: object, **_kwargs: object) -> None:
    raise ScreenCrash(CRASH)


@dataclass
class Headless:
    """The apps a command ran, and the keys the autopilot presses first in each."""

    apps: list[App] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


async def _quit_if_no_crash(pilot, keys: list[str]) -> None:
    """The app's autopilot: press ``keys``, then wait (a condition, not a time) for the
    crash; quit if none came."""
    for key in keys:
        if pilot.app.return_code is not None:
            return
        await pilot.press(key)
    waited = 0.0
    while pilot.app.return_code is None and waited < GIVE_UP_S:
        await asyncio.sleep(0.05)
        waited += 0.05
    if pilot.app.return_code is None:
        pilot.app.exit()


@pytest.fixture
def headless(monkeypatch: pytest.MonkeyPatch) -> Headless:
    """Every app a command runs, run headless at 100x30, driven by the autopilot."""
    ran = Headless()
    real_run: Callable = App.run

    def run(app: App, *args: object, **kwargs: object) -> object:
        ran.apps.append(app)
        pilot = partial(_quit_if_no_crash, keys=list(ran.keys))
        return real_run(app, headless=True, size=(100, 30), auto_pilot=pilot)

    monkeypatch.setattr(App, "run", run)
    return ran


def _recording(tmp_path: Path, name: str = "run.jsonl") -> str:
    copy = tmp_path / name
    shutil.copyfile(FIXTURES / "sigmoid_deep.jsonl", copy)
    return str(copy)


def _rank_files(tmp_path: Path) -> str:
    """Two rank files of one run; attach opens them by their common name."""
    for rank in (0, 1):
        _recording(tmp_path, f"run.rank{rank}.jsonl")
    return str(tmp_path / "run.jsonl")


# name: (the command's words, the screen class that crashes, its method, keys pressed first)
COMMANDS: dict[str, tuple[Callable[[Path], list[str]], type, str, list[str]]] = {
    "launch": (lambda _tmp: ["launch"], PickerScreen, "on_mount", []),
    "launch NAME": (lambda _tmp: ["launch", "sigmoid_deep"], RunScreen, "start_runs", []),
    "launch, then enter": (lambda _tmp: ["launch"], RunScreen, "start_runs", ["enter"]),
    "learn": (lambda _tmp: ["learn"], CourseScreen, "on_mount", []),
    "learn, lesson 2": (lambda _tmp: ["learn"], RunScreen, "start_runs", ["down", "enter"]),
    "sweep --live": (
        lambda _tmp: ["sweep", "sigmoid_deep", "--lr", "0.01,0.1", "--live"],
        RunScreen,
        "start_runs",
        [],
    ),
    "replay": (lambda tmp: ["replay", _recording(tmp)], RunScreen, "start_runs", []),
    "replay A B": (
        lambda tmp: ["replay", _recording(tmp), _recording(tmp, "b.jsonl")],
        RunScreen,
        "start_runs",
        [],
    ),
    "attach": (lambda tmp: ["attach", _recording(tmp)], RunScreen, "start_runs", []),
    "attach rank files": (lambda tmp: ["attach", _rank_files(tmp)], RunScreen, "start_runs", []),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_crash_of_the_screen_exits_non_zero(
    command: str, headless: Headless, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
) -> None:
    argv, screen, method, keys = COMMANDS[command]
    monkeypatch.setattr(screen, method, _crash)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    headless.keys = keys
    status = main(argv(tmp_path))
    assert len(headless.apps) == 1, "the command ran no app"
    assert headless.apps[0].return_code == 1, "the screen did not crash"
    assert status == 1
    assert CRASH in capsys.readouterr().err  # the traceback is on stderr, not swallowed


@pytest.mark.parametrize("command", ["replay", "launch"])
def test_without_a_crash_the_same_commands_exit_zero(
    command: str, headless: Headless, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The other half: quit by the autopilot (as by q) is 0, so 1 above means the crash."""
    monkeypatch.setattr(sys.modules[__name__], "GIVE_UP_S", 0.5)
    argv = COMMANDS[command][0](tmp_path)
    assert main(argv) == 0
    assert headless.apps[0].return_code == 0


def _crash_once_training(screen: RunScreen) -> None:
    """The tick, until the first step of a live run arrived: then a crash."""
    REAL_TICK(screen)
    if any(feed.history.steps_seen for feed in screen.feeds):
        raise ScreenCrash(CRASH)


REAL_TICK = RunScreen.tick


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        ["launch", "sigmoid_deep", "--steps", "40"],
        ["sweep", "sigmoid_deep", "--steps", "40", "--lr", "0.01,0.1", "--live"],
    ],
    ids=["launch NAME", "sweep --live"],
)
def test_a_crash_during_live_training_exits_non_zero_and_ends_the_workers(
    argv: list[str], headless: Headless, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Real training processes: the screen crashes once steps arrive; each worker is gone."""
    import multiprocessing as mp

    monkeypatch.setattr(RunScreen, "tick", _crash_once_training)
    monkeypatch.setattr(sys.modules[__name__], "GIVE_UP_S", 180.0)  # torch loads, two cores
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert main(argv) == 1
    assert headless.apps[0].return_code == 1
    workers = [c for c in mp.active_children() if c.name.startswith("gradtui-train-")]
    for worker in workers:
        worker.join(15.0)
    left = [w for w in workers if w.exitcode is None]
    for worker in left:  # not ours to leave behind, whatever the assertion says
        worker.kill()
        worker.join(15.0)
    assert not left, "a training process outlived the app"
