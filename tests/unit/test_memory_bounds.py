"""The report streams a recording: four times the steps is not four times the memory."""

from __future__ import annotations

import json
import statistics
import tracemalloc
from pathlib import Path

from gradtui.events import LayerInfo, RunFinished, RunStarted, StepStats
from gradtui.recording.codec import event_to_json
from gradtui.recording.parser import FORMAT
from gradtui.report.build import build_report
from gradtui.report.recorded import report_files
from gradtui.report.summary import Thinned

DEPTH = 12
STARTED = RunStarted(
    "long", "long", "", {}, tuple(LayerInfo(f"l{i}", "Linear", i, 10) for i in range(DEPTH)),
    tuple(f"b{i}" for i in range(DEPTH)), 0, 10,
)  # fmt: skip


def step(i: int) -> StepStats:
    norms = tuple(1.0 + j / 10 + (i % 7) / 100 for j in range(DEPTH))
    return StepStats(
        i, 1.0 / (1 + i), 3.0, None, norms, (0,) * DEPTH, (2.0,) * DEPTH, (1e-3,) * DEPTH, norms
    )


def write(path: Path, steps: int) -> Path:
    with path.open("w") as file:
        file.write(json.dumps({"format": FORMAT}) + "\n" + event_to_json(STARTED) + "\n")
        for i in range(steps):
            file.write(event_to_json(step(i)) + "\n")
        file.write(event_to_json(RunFinished(steps)) + "\n")
    return path


def peak_of_report(path: Path) -> tuple[int, dict]:
    tracemalloc.start()
    try:
        report = report_files([path]).report
        return tracemalloc.get_traced_memory()[1], report
    finally:
        tracemalloc.stop()


def test_reading_four_times_the_steps_does_not_take_four_times_the_memory(tmp_path: Path):
    small, report_small = peak_of_report(write(tmp_path / "small.jsonl", 2_000))
    large, report_large = peak_of_report(write(tmp_path / "large.jsonl", 8_000))
    assert report_small["steps_run"] == 2_000 and report_large["steps_run"] == 8_000
    assert len(report_large["loss"]) == 8_000  # the report still lists every loss
    assert large < 2 * small, (small, large)


def test_the_streamed_report_is_the_report_of_all_events(tmp_path: Path):
    path = write(tmp_path / "run.jsonl", 300)
    events = [STARTED, *(step(i) for i in range(300)), RunFinished(300)]
    streamed = report_files([path]).report
    whole = build_report(events)
    for key in ("steps_run", "final_loss", "loss"):
        assert streamed[key] == whole[key]
    assert [layer["grad_norm_median"] for layer in streamed["layers"]] == [
        layer["grad_norm_median"] for layer in whole["layers"]
    ]


def test_the_median_sample_is_exact_then_bounded():
    exact = Thinned(limit=1000)
    values = [float((i * 37) % 101) for i in range(1000)]
    for v in values:
        exact.add(v)
    assert exact.median() == statistics.median(values)
    bounded = Thinned(limit=1000)
    for i in range(100_000):
        bounded.add(float(i))
    assert len(bounded.values) <= 1000
    assert abs(bounded.median() - 49_999.5) < 500  # a sample's median, within 1%
