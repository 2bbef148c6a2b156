"""The two framework examples run in one process with a planted bug, and `gradtui report`
finds it in their recordings (their DDP runs are in test_integrations_ddp)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "needs", "bug", "kind"),
    [
        ("lightning_train.py", "lightning", "detached", "missing_gradients"),
        ("transformers_train.py", "transformers", "detached", "missing_gradients"),
    ],
)
def test_example_with_a_planted_bug_is_reported(tmp_path: Path, script, needs, bug, kind):
    pytest.importorskip(needs, reason=f"{needs} is not installed")
    record = tmp_path / "run.jsonl"
    command = [sys.executable, str(ROOT / "examples" / script), "--steps", "12"]
    subprocess.run(
        [*command, "--bug", bug, "--record", str(record)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
        timeout=300,
    )
    report = subprocess.run(
        [sys.executable, "-m", "gradtui", "report", str(record), "--fail-on", "error"],
        capture_output=True,
        text=True,
    )
    assert report.returncode == 1, report.stdout
    assert kind.replace("_", " ") in report.stdout or kind in report.stdout
