"""Fixtures for the dashboard tests: committed recordings, and apps driven from them.

No torch and no training here: the recordings are in tests/fixtures/ui.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from pathlib import Path

import pytest

from gradtui.events import Event
from gradtui.recording import read_recording
from gradtui.scenario.spec import SCENARIOS_ENV, ScenarioSpec, discover
from gradtui.ui.app import GradApp
from gradtui.ui.sources import ReplaySource


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests in a fresh event loop (no async plugin needed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ui"
RECORDED = (
    "sigmoid_deep",
    "relu_deep",
    "broken_graph",
    "exploding_no_clip",
    "exploding_clipped",
    "inplace_op",
    "user_mlp9",  # a user's nn.Sequential under gradtui.watch: layers 0, 2, ... 16
)


@pytest.fixture(scope="session")
def recordings() -> dict[str, Path]:
    """The committed recordings (tests/fixtures/make_ui_recordings.py writes them)."""
    return {name: FIXTURES / f"{name}.jsonl" for name in RECORDED}


@pytest.fixture(scope="session")
def _loaded(recordings: dict[str, Path]) -> dict[str, tuple[Event, ...]]:
    return {name: tuple(read_recording(path).events) for name, path in recordings.items()}


@pytest.fixture
def recorded_events(_loaded: dict[str, tuple[Event, ...]]) -> dict[str, list[Event]]:
    """A fresh dict of fresh lists for each test: what one test changes, the next never sees."""
    return {name: list(events) for name, events in _loaded.items()}


@pytest.fixture(autouse=True)
def _only_shipped_scenarios(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCENARIOS_ENV, raising=False)


@pytest.fixture(autouse=True)
def _own_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Each test's saved settings (the theme) in its own folder, never the user's."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


@pytest.fixture
def replay_source(
    recorded_events: dict[str, list[Event]],
) -> Callable[[ScenarioSpec, float | None], ReplaySource]:
    """Stands in for the worker: launching a scenario replays its recording."""

    def make(spec: ScenarioSpec, speed: float | None) -> ReplaySource:
        return ReplaySource(recorded_events[spec.name], speed)

    return make


@pytest.fixture
def make_app(replay_source) -> Callable[..., GradApp]:
    def make(**kwargs) -> GradApp:
        kwargs.setdefault("make_source", replay_source)
        kwargs.setdefault("catalog", discover())
        return GradApp(**kwargs)

    return make


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Let the app run until condition holds (checked every 50 ms)."""
    waited = 0.0
    while not condition():
        if waited > timeout:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)
        waited += 0.05
