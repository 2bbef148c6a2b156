"""``gradtui run --record`` thins what it writes as ``gradtui.watch`` does, and keeps every
finding: the report of a thinned recording names what the report of the full one names, and
replay reads it. ``--keep-every-step`` writes every step in full."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradtui.cli import main
from gradtui.diagnosis import Diagnoser
from gradtui.events import RunFinished, RunStarted, StepStats
from gradtui.recording import Recorder
from gradtui.recording.reader import read_run
from gradtui.recording.writer import Thinning
from gradtui.report.recorded import report_files
from gradtui.scenario.headless import run_headless
from gradtui.scenario.spec import resolve
from gradtui.ui.history import RunHistory
from gradtui.watch.consumer import Consumer

# Thinned from step 8 on, so that a run of a few hundred steps is mostly left out.
EARLY = Thinning(every_step_until=8, then_every=16)
NOTES = {"recording_thinned"}


def findings(report: dict) -> set[tuple[str, tuple[str, ...], str]]:
    return {
        (d["kind"], tuple(d["layers"]), d["severity"])
        for d in report["diagnoses"]
        if d["kind"] not in NOTES
    }


def record_both(name: str, steps: int, folder: Path) -> tuple[dict, Path, Path]:
    spec = resolve(name, []).with_overrides(steps, None)
    full, thin = folder / "full.jsonl", folder / "thin.jsonl"
    live = run_headless(spec, record=full, keep_every_step=True)
    again = run_headless(spec, record=thin, thinning=EARLY)
    assert findings(again) == findings(live)  # the same seeded run both times
    return live, full, thin


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "steps"),
    [
        ("sigmoid_deep", 200),
        ("dead_relu", 200),
        ("exploding_no_clip", 60),
        ("broken_graph", 120),
        ("missing_zero_grad", 200),
    ],
)
def test_a_thinned_recording_reports_the_findings_of_the_full_one(
    name: str, steps: int, tmp_path: Path
):
    live, full, thin = record_both(name, steps, tmp_path)
    of_full = report_files([full]).report
    of_thin = report_files([thin]).report
    assert findings(of_full) == findings(live)
    assert findings(of_thin) == findings(of_full)
    assert of_thin["steps_run"] == of_full["steps_run"]
    assert len(step_numbers(thin)) < len(step_numbers(full)) == of_full["steps_run"]
    assert thin.stat().st_size < full.stat().st_size


def step_numbers(path: Path) -> list[int]:
    return [e.step for e in read_run(path).events if isinstance(e, StepStats)]


@pytest.mark.slow
def test_replay_reads_a_thinned_recording_to_its_end(tmp_path: Path):
    _, full, thin = record_both("sigmoid_deep", 200, tmp_path)
    loaded = read_run(thin)
    assert loaded.warnings == ()
    events = loaded.events
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    steps = step_numbers(thin)
    assert steps[:8] == list(range(8)) and len(steps) < 200 // 2
    history = RunHistory(live=False)
    for event in events:
        history.absorb(event)
    assert history.state == "finished"
    kinds = {d.kind for d in history.diagnoses()} - NOTES
    assert kinds == {k for k, _, _ in findings(report_files([full]).report)}
    assert "recording_thinned" in {d.kind for d in history.diagnoses()}


def header(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8").splitlines()[0])


def test_run_record_is_thinned_and_keep_every_step_writes_all(tmp_path: Path, capsys):
    thin, full = tmp_path / "thin.jsonl", tmp_path / "full.jsonl"
    base = ["run", "tiny_overfit", "--steps", "12", "--record"]
    assert main([*base, str(thin)]) == 0
    assert main([*base, str(full), "--keep-every-step"]) == 0
    capsys.readouterr()
    assert header(thin)["thinning"] == {"every_step_until": 10_000, "then_every": 16}
    assert "thinning" not in header(full)
    for path in (thin, full):
        assert step_numbers(path) == list(range(12))
    assert thin.stat().st_size < full.stat().st_size  # per-layer values to 4 digits


def test_keep_every_step_is_in_run_help(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "--keep-every-step" in capsys.readouterr().out


@pytest.mark.slow
def test_watch_thinned_recording_keeps_its_findings_too(tmp_path: Path):
    """gradtui.watch's writer (its Consumer) writes its findings before the end, as run
    --record does: fed a full run's events, thinned early, its file reports the same."""
    live, full, _ = record_both("sigmoid_deep", 200, tmp_path)
    out = tmp_path / "watch.jsonl"
    with Recorder(out, header=EARLY.header()) as recorder:
        consumer = Consumer(Diagnoser(), recorder, EARLY, announce=lambda _found: None)
        for event in read_run(full).events:
            consumer(event)
    assert len(step_numbers(out)) < 200 // 2
    assert findings(report_files([out]).report) == findings(live)
