"""The follow backlog stays bounded when the writer outpaces the screen, and loses no finding."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gradtui.events import Diagnosis, LayerInfo, RunFinished, RunStarted, StepStats
from gradtui.recording import Recorder
from gradtui.recording.backlog import Backlog, FollowReader


def step(i: int) -> StepStats:
    return StepStats(i, 1.0, 1.0, None, (1.0,), (0,), (2.0,), (1e-3,), (0.5,))


def finding(i: int) -> Diagnosis:
    return Diagnosis("vanishing", "warning", i, ("fc",), "small", "why", "fix")


START = RunStarted("fast", "fast", "", {}, (LayerInfo("fc", "Linear", 0, 10),), ("fc",), 0, 1)


@settings(max_examples=60, deadline=None)
@given(
    bound=st.integers(4, 40),
    plan=st.lists(st.tuples(st.booleans(), st.integers(0, 5)), max_size=400),
)
def test_the_backlog_never_passes_its_bound_and_keeps_every_finding(bound, plan) -> None:
    backlog = Backlog(bound)
    shown = []
    for i, (is_finding, taken) in enumerate(plan):
        while backlog.full:  # the reader waits for room
            shown += backlog.take(1)
        backlog.add(finding(i) if is_finding else step(i))
        assert len(backlog) <= bound
        shown += backlog.take(taken)
    backlog.add(RunFinished(len(plan)))
    shown += backlog.take(len(backlog))
    assert [e.step for e in shown if isinstance(e, Diagnosis)] == [
        i for i, (is_finding, _) in enumerate(plan) if is_finding
    ]
    steps = [e.step for e in shown if isinstance(e, StepStats)]
    assert steps == sorted(set(steps))
    last = [i for i, (is_finding, _) in enumerate(plan) if not is_finding]
    if last:
        assert steps[-1] == last[-1]  # the newest step is shown, whatever the stride
    assert isinstance(shown[-1], RunFinished)


def test_a_slow_screen_never_gets_lost_in_a_fast_writers_backlog(tmp_path: Path) -> None:
    """A thread writes 20,000 steps as fast as it can; the screen takes 8 events per tick."""
    path = tmp_path / "fast.jsonl"
    bound = 256
    steps = 20_000

    def write() -> None:
        with Recorder(path) as recorder:
            recorder(START)
            for i in range(steps):
                recorder(step(i))
                if i % 1000 == 0:
                    recorder(finding(i))
            recorder(RunFinished(steps))

    writer = threading.Thread(target=write)
    writer.start()
    reader = FollowReader(path, bound)
    reader.start()
    shown, longest, widest = [], 0, 1
    try:
        while not (shown and isinstance(shown[-1], RunFinished)):
            longest = max(longest, len(reader.backlog))
            widest = max(widest, reader.every)
            shown += reader.take(8)[1]
            time.sleep(0.01)
    finally:
        reader.stop()
        writer.join()
    assert longest <= bound
    assert widest > 1  # it fell behind, and thinned
    assert [e.step for e in shown if isinstance(e, Diagnosis)] == list(range(0, steps, 1000))
    kept = [e.step for e in shown if isinstance(e, StepStats)]
    assert kept[-1] == steps - 1 and len(kept) < steps
    assert isinstance(shown[0], RunStarted)
