"""What the live-path tests share: a tiny scenario trained in real worker processes, and a
record of every process those sources started."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from gradtui.scenario.spec import ScenarioSpec
from gradtui.ui.sources import LiveSource

STEPS = 30  # a few dozen steps: enough to see a run go by, short enough to end quickly
STARTUP_S = 90.0  # a worker imports torch first: long on a busy machine (a wait, not a measure)
GONE_S = 15.0


def tiny(spec: ScenarioSpec) -> ScenarioSpec:
    return spec.with_overrides(steps=STEPS)


@dataclass
class Started:
    """Every LiveSource made while it is installed, and each start of a worker process."""

    sources: list[LiveSource] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # pids, one entry per process started

    def make(self, spec: ScenarioSpec, speed: float | None) -> LiveSource:
        source = LiveSource(tiny(spec), speed)
        self.sources.append(source)
        return source

    @property
    def processes(self) -> list:
        return [source.process for source in self.sources]

    def assert_each_started_once(self) -> None:
        assert len(self.starts) == len(set(self.starts)), f"a process started twice: {self.starts}"
        started = [p for p in self.processes if p.pid is not None]
        assert len(self.starts) == len(started)

    def assert_all_gone(self) -> None:
        for process in self.processes:
            if process.pid is not None:
                process.join(GONE_S)
                assert process.exitcode is not None, f"{process.name} is still running"
        leftover = [c for c in mp.active_children() if c.name.startswith("gradtui-train-")]
        assert not leftover, f"processes left running: {leftover}"


@contextmanager
def recording_starts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Started]:
    """Count the worker processes started (BaseProcess.start runs once per process; a second
    call on one process raises, which is the fault these tests guard against)."""
    started = Started()
    real_start: Callable = mp.process.BaseProcess.start

    def start(process) -> None:
        real_start(process)
        if process.name.startswith("gradtui-train-"):
            started.starts.append(process.pid)

    monkeypatch.setattr(mp.process.BaseProcess, "start", start)
    try:
        yield started
    finally:
        for source in started.sources:
            source.close()
