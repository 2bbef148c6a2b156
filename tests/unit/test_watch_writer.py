"""The monitor's writer thread: long recordings thinned and saying so, a writer that falls
behind leaves steps out (saying so) instead of holding training up."""

from __future__ import annotations

import json
import threading

import torch
from torch import nn

import gradtui
from gradtui.events import Diagnosis, StepStats
from gradtui.recording import read_recording
from gradtui.recording.writer import Thinning
from gradtui.report.recorded import report_files
from gradtui.watch import monitor as monitor_module


def train(steps: int, **watch) -> list[float]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    with gradtui.watch(model, opt, **watch) as monitor:
        for _ in range(steps):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(torch.randn(8, 6)), torch.zeros(8).long())
            loss.backward()
            monitor.step(loss)
            opt.step()
            losses.append(loss.item())
    return losses


def test_a_long_recording_is_thinned_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(
        monitor_module, "Thinning", lambda: Thinning(every_step_until=4, then_every=3)
    )
    path = tmp_path / "run.jsonl"
    seen: list = []
    train(12, record=path, on_event=seen.append)
    header = json.loads(path.read_text().splitlines()[0])
    assert header["thinning"] == {"every_step_until": 4, "then_every": 3}
    events = read_recording(path).events
    kept = [e.step for e in events if isinstance(e, StepStats)]
    fired = {d.step for d in gradtui_findings(seen)}
    assert kept == sorted({0, 1, 2, 3, 6, 9} | {s for s in fired if s >= 4})
    assert [e.step for e in seen if isinstance(e, StepStats)] == list(range(12))  # on_event: all
    notes = [e for e in events if isinstance(e, Diagnosis) and e.kind == "recording_thinned"]
    assert len(notes) == 1 and notes[0].step == 4 and "one step in every 3" in notes[0].message
    report = report_files([path]).report
    assert "recording_thinned" in [d["kind"] for d in report["diagnoses"]]


def gradtui_findings(events: list) -> list[Diagnosis]:
    """The steps where the rules fired, as the monitor's own diagnoser saw them."""
    from gradtui.diagnosis import Diagnoser

    diagnoser, fired = Diagnoser(), []
    for event in events:
        fired += diagnoser.observe(event)
    return fired


def test_keep_every_step_keeps_them_all(tmp_path, monkeypatch):
    monkeypatch.setattr(
        monitor_module, "Thinning", lambda: Thinning(every_step_until=2, then_every=5)
    )
    path = tmp_path / "run.jsonl"
    train(8, record=path, keep_every_step=True)
    assert "thinning" not in json.loads(path.read_text().splitlines()[0])
    events = read_recording(path).events
    assert [e.step for e in events if isinstance(e, StepStats)] == list(range(8))
    assert not any(isinstance(e, Diagnosis) for e in events)


def test_a_writer_that_falls_behind_leaves_steps_out_and_never_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(monitor_module, "capacity_for", lambda layers: 2)
    release = threading.Event()
    path = tmp_path / "run.jsonl"

    def stuck(event) -> None:  # on the writer thread: held until training is over
        release.wait(60)

    bare = train(10)
    results: list[list[float]] = []
    training = threading.Thread(
        target=lambda: results.append(train(10, record=path, on_event=stuck))
    )
    training.start()
    training.join(1.0)  # it trains through while the writer is stuck, then waits in close()
    release.set()
    training.join(60)
    assert results == [bare]
    events = read_recording(path).events
    steps = [e.step for e in events if isinstance(e, StepStats)]
    assert len(steps) < 10 and steps[0] == 0
    gaps = [e for e in events if isinstance(e, Diagnosis) and e.kind == "recording_gap"]
    assert gaps and "writer fell behind" in gaps[0].message
