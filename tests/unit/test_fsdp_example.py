"""examples/fsdp_train.py under torchrun: one report of every rank's file, a NaN told by rank."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_fsdp_example_skips_a_nan_on_every_rank_and_names_the_rank(tmp_path: Path) -> None:
    record = tmp_path / "runs" / "fsdp.jsonl"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        str(ROOT / "examples" / "fsdp_train.py"), "--steps", "10", "--record", str(record),
        "--nan-rank", "1",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    for rank in (0, 1):
        assert f"rank {rank}: final loss" in done.stdout and "skipped steps [5]" in done.stdout
    report = subprocess.run(
        [sys.executable, "-m", "gradtui", "report", str(record), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(report.stdout)
    assert [r["steps"] for r in found["ranks"]["ranks"]] == [10, 10]
    first = found["diagnoses"][0]
    assert (first["kind"], first["step"]) == ("nonfinite_rank", 5)
    assert "rank 1" in first["message"]
    assert all(d["severity"] == "info" for d in found["diagnoses"][1:])
