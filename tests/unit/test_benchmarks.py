"""The benchmark scripts still run (with tiny step counts): their figures are not checked here,
only that each one measures every loop it names and prints its ratios."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RATIO = re.compile(r"\d+\.\d+ ?x")

RUNS = {
    "probe_overhead": ["--steps", "3", "--rounds", "1"],
    "watch_overhead": [
        *("--device", "cpu", "--steps", "2", "--rounds", "1"),
        *("--models", "W2 mlp 20x64 relu"),
    ],
    "recording_size": ["--steps", "2000", "--train-steps", "20"],
    "diagnosis_cost": ["--train-steps", "5", "--steps", "50", "--repeats", "1"],
    "memory_bounds": ["--steps", "200", "--samples", "2", "--size-mb", "1"],
    "fsdp_overhead": ["--steps", "2", "--rounds", "1"],
    "ranks_follow": ["--ranks", "2", "--rates", "50", "--seconds", "1"],
}


@pytest.mark.parametrize("name", list(RUNS))
def test_benchmark_runs_and_prints_ratios(name: str):
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), *RUNS[name]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    if name == "probe_overhead":
        rows = [line for line in done.stdout.splitlines() if line.startswith("20x64")]
        assert len(rows) == 3 and all(len(RATIO.findall(row)) == 3 for row in rows), done.stdout
    elif name == "watch_overhead":
        row = next(line for line in done.stdout.splitlines() if line.startswith("W2 mlp"))
        assert len(RATIO.findall(row)) >= 4, row
    elif name == "memory_bounds":
        assert "bytes/step" in done.stdout and "peak / file size" in done.stdout, done.stdout
        assert len(RATIO.findall(done.stdout)) >= 3, done.stdout
    elif name == "fsdp_overhead":
        rows = [line.split()[0] for line in done.stdout.splitlines() if RATIO.search(line)]
        assert rows == ["ddp", "fsdp2"], done.stdout
    elif name == "ranks_follow":
        assert "2 ranks at 50 steps/s" in done.stdout and "behind" in done.stdout, done.stdout
    elif name == "recording_size":
        assert "bytes a step" in done.stdout and "thinned" in done.stdout, done.stdout
    else:
        assert "%" in done.stdout and "links()" in done.stdout, done.stdout
