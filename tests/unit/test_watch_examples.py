"""The shipped examples run, record, and report (few steps each; the DDP one is in test_ddp)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gradtui.recording import read_recording

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize(
    "script", ["plain_mlp.py", "cnn.py", "transformer_block.py", "lstm_copy.py"]
)
def test_example_runs_and_its_recording_reports(tmp_path: Path, script: str):
    record = tmp_path / "run.jsonl"
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), "--steps", "20", "--record", str(record)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
        timeout=180,
    )
    events = read_recording(record).events
    assert [e.type for e in events][:2] == ["run_started", "step"]
    assert events[-1].type == "run_finished" and events[-1].steps_run == 20
    report = subprocess.run(
        [sys.executable, "-m", "gradtui", "report", str(record), "--fail-on", "error"],
        capture_output=True,
        text=True,
    )
    assert report.returncode == 0, report.stdout  # healthy training: no error-level finding
    assert "20 steps" in report.stdout
