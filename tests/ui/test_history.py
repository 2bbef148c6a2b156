"""The UI's bounded histories, the replay source's controls, speeds and lock step."""

from __future__ import annotations

import math

from gradtui.events import RunFailed, RunFinished, StepStats
from gradtui.numbers import sci
from gradtui.ui.feed import SPEEDS, RunFeed, lock_step, next_speed
from gradtui.ui.format import MISSING, NONFINITE, ZERO, band_colour, log10_of
from gradtui.ui.history import Decimated, RunHistory, merge_logs
from gradtui.ui.sources import ReplaySource
from gradtui.ui.widgets.heatmap import squeeze
from gradtui.ui.widgets.loss import loss_series


def test_log10_markers_and_sci() -> None:
    assert log10_of(1e-3) == -3
    assert math.isnan(log10_of(None)) and math.isnan(MISSING)
    assert log10_of(math.inf) == NONFINITE and log10_of(math.nan) == NONFINITE
    assert log10_of(0.0) == ZERO
    assert sci(3.2e-5) == "3.20e-05" and sci(None) == "—" and sci(math.nan) == "nan"
    assert band_colour(-12) != band_colour(0) != band_colour(6)


def test_merge_logs_prefers_nonfinite_then_mean() -> None:
    assert merge_logs([1.0, 3.0]) == 2.0
    assert merge_logs([1.0, NONFINITE]) == NONFINITE
    assert merge_logs([MISSING, 2.0]) == 2.0
    assert math.isnan(merge_logs([MISSING, MISSING]))
    assert merge_logs([ZERO, ZERO]) == ZERO


def test_decimated_stays_bounded_and_covers_the_run() -> None:
    series = Decimated(cap=64)
    for step in range(100_000):
        series.add(step, (float(step),))
    steps, points = series.view()
    assert len(points) <= 65
    assert steps[0] == 0 and steps[-1] > 100_000 - series.stride
    assert series.stride >= 100_000 // 64


def test_history_memory_is_bounded(recorded_events) -> None:
    events = recorded_events["relu_deep"]
    history = RunHistory()
    history.absorb(events[0])
    step = next(e for e in events if isinstance(e, StepStats))
    for i in range(20_000):
        history.absorb(StepStats(**{**step.__dict__, "step": i}))
    assert history.steps_seen == 20_000
    assert all(len(spark) <= 96 for spark in history.sparks)
    assert len(history.heat.points) <= 512 and len(history.loss.points) <= 512


def test_history_states_and_nonfinite_marker(recorded_events) -> None:
    history = RunHistory()
    for event in recorded_events["exploding_no_clip"]:
        history.absorb(event)
    # the trainer stopped it because the loss stayed non-finite: not "finished" (issue 10)
    assert history.state == "diverged" and history.ended
    assert history.first_nonfinite_step is not None
    assert history.diagnoses(), "the diagnosis rules found nothing in exploding_no_clip"
    failed = RunHistory()
    for event in recorded_events["inplace_op"]:
        failed.absorb(event)
    assert failed.state == "failed" and isinstance(failed.failure, RunFailed)
    stopped = RunHistory()
    stopped.absorb(RunFinished(steps_run=3, stopped=True))
    assert stopped.state == "stopped" and stopped.ended


def test_new_diagnoses_are_announced_once(recorded_events) -> None:
    history = RunHistory()
    for event in recorded_events["sigmoid_deep"]:
        history.absorb(event)
    first = history.take_unannounced()
    assert first and history.take_unannounced() == []
    assert {d.kind for d in first} == {d.kind for d in history.diagnoses()}


def test_replay_pause_step_speed_and_limit(recorded_events) -> None:
    events = recorded_events["relu_deep"]
    source = ReplaySource(events, speed=None)
    source.start()
    source.set_paused(True)
    assert [e for e in source.poll() if isinstance(e, StepStats)] == []
    source.step_once()
    source.step_once()
    assert sum(isinstance(e, StepStats) for e in source.poll()) == 2
    source.set_paused(False)
    source.set_limit(10)
    assert sum(isinstance(e, StepStats) for e in source.poll()) == 8
    assert source.steps == 10
    source.set_limit(None)
    rest = source.poll()
    assert source.steps == 40 and isinstance(rest[-1], RunFinished)
    source.restart()
    assert source.steps == 0 and source.cursor == 0


def test_lock_step_holds_the_leader(recorded_events) -> None:
    a = RunFeed(ReplaySource(recorded_events["sigmoid_deep"], speed=10))
    b = RunFeed(ReplaySource(recorded_events["relu_deep"], speed=10))
    lock_step([a, b])
    assert a.source.limit == 0 + 2 and b.source.limit == 2
    b.history.steps_seen = 7
    lock_step([a, b])
    assert a.source.limit == 9 and b.source.limit == 2
    b.history.state = "finished"
    lock_step([a, b])
    assert a.source.limit > 1e15  # a finished run holds nobody back


def test_speed_levels() -> None:
    assert next_speed(25, +1) == 50 and next_speed(25, -1) == 10
    assert next_speed(None, +1) is None and next_speed(SPEEDS[0], -1) == SPEEDS[0]
    assert next_speed(1000, +1) is None


def test_loss_switches_to_log10_when_it_spans_decades() -> None:
    history = RunHistory()
    for step, loss in enumerate([100.0, 10.0, 1.0, 0.1]):
        history.loss.add(step, (loss,))
    _steps, values, use_log = loss_series(history)
    assert use_log and values == [2.0, 1.0, 0.0, -1.0]
    flat = RunHistory()
    for step, loss in enumerate([2.0, 1.5, 1.0]):
        flat.loss.add(step, (loss,))
    assert loss_series(flat)[2] is False


def test_heatmap_squeeze_keeps_the_whole_run() -> None:
    points = [(float(i),) for i in range(100)]
    squeezed = squeeze(points, 10)
    assert len(squeezed) == 10 and squeezed[0][0] < 10 and squeezed[-1][0] > 90
    assert len(squeeze(points[:5], 10)) == 10  # short runs are stretched to fill
