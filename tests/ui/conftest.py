"""Fixtures for the dashboard tests: seeded recordings made once, and apps driven from them."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from pathlib import Path

import pytest

from gradtui.events import Event
from gradtui.recording import Recorder, read_recording
from gradtui.scenario.spec import SCENARIOS_ENV, ScenarioSpec, discover, resolve
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


# Seeded runs at fixed steps: long enough for each lesson's diagnosis to fire.
RECORDED = {
    "sigmoid_deep": 40,
    "relu_deep": 40,
    "broken_graph": 30,
    "exploding_no_clip": 60,  # stops itself once the loss stays non-finite
    "exploding_clipped": 30,
    "inplace_op": 10,  # fails on its first step
}


@pytest.fixture(scope="session")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import torch

    from gradtui.scenario.loop import run

    torch.set_num_threads(1)  # as in the worker: same numbers every time
    folder = tmp_path_factory.mktemp("recordings")
    paths = {}
    for name, steps in RECORDED.items():
        path = folder / f"{name}.jsonl"
        with Recorder(path) as recorder:
            run(resolve(name).with_overrides(steps=steps, seed=0), recorder)
        paths[name] = path
    return paths


@pytest.fixture(scope="session")
def recorded_events(recordings: dict[str, Path]) -> dict[str, list[Event]]:
    return {name: read_recording(path).events for name, path in recordings.items()}


@pytest.fixture(autouse=True)
def _only_shipped_scenarios(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCENARIOS_ENV, raising=False)


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
