"""Both callbacks under DDP (gloo, 2 ranks on CPU): each rank records its own file, as
gradtui.watch does, and the report reads them as one run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradtui.recording.paths import rank_path

ROOT = Path(__file__).resolve().parents[2]


def report_json(record: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "gradtui", "report", str(record), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def check_rank_files(record: Path, result: subprocess.CompletedProcess) -> None:
    finished = all(f"rank {r}: recorded {rank_path(record, r)}" in result.stdout for r in (0, 1))
    # torch's gloo teardown can abort a rank after training ended: torch's, not ours
    assert result.returncode == 0 or finished, result.stderr[-3000:]
    assert all(rank_path(record, r).exists() for r in (0, 1)) and not record.exists()
    report = report_json(record)
    assert [r["rank"] for r in report["ranks"]["ranks"]] == [0, 1]
    assert all(r["steps"] == 6 for r in report["ranks"]["ranks"])
    assert "rank_divergence" not in {d["kind"] for d in report["diagnoses"]}


@pytest.mark.slow
def test_lightning_ddp_writes_one_file_per_rank(tmp_path: Path):
    pytest.importorskip("lightning", reason="Lightning is not installed")
    record = tmp_path / "runs" / "lit.jsonl"
    script = ROOT / "examples" / "lightning_train.py"
    command = [
        sys.executable,
        str(script),
        "--devices",
        "2",
        "--steps",
        "6",
        "--record",
        str(record),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    check_rank_files(record, result)


@pytest.mark.slow
def test_transformers_ddp_writes_one_file_per_rank(tmp_path: Path):
    pytest.importorskip("transformers", reason="transformers is not installed")
    pytest.importorskip("accelerate", reason="accelerate is not installed")
    record = tmp_path / "runs" / "hf.jsonl"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        str(ROOT / "examples" / "transformers_train.py"), "--steps", "6", "--record", str(record),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    check_rank_files(record, result)
