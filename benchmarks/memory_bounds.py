"""Memory against run length: a long headless run, and reading a large recording.

1. headless: ``gradtui run`` of a small scenario (depth 4, width 16) for --steps steps,
   recording to a file; the resident memory (VmRSS) is sampled as the run goes. Printed: RSS
   at each checkpoint, and the growth per step between the first checkpoint and the last
   (before, the run kept every event: about 4.2 KB a step).
2. report: a recording of --size-mb megabytes is generated (synthetic steps of a 20-layer
   run, as ``gradtui run`` writes them) and ``gradtui report`` reads it in a fresh process;
   printed: the file's size, the peak RSS of the reading process, the RSS of the same
   process before reading (imports done), and their ratio, plus read speed.

Each part runs in its own process, so one's memory does not hide the other's.

    python benchmarks/memory_bounds.py                 # 100k steps, a 256 MB recording
    python benchmarks/memory_bounds.py --steps 1000000 --size-mb 1024
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- 1. a long headless run ------------------------------------------------------------------
def headless(steps: int, samples: int) -> None:
    from gradtui.scenario.headless import run_headless
    from gradtui.scenario.spec import ScenarioSpec

    spec = ScenarioSpec.model_validate(
        {
            "name": "memory_bounds",
            "title": "memory bench",
            "lesson": "",
            "model": {"depth": 4, "width": 16},
            "data": {"samples": 256, "inputs": 8},
            "train": {"steps": steps, "batch": 32, "lr": 0.001},
        }
    )
    every = max(steps // samples, 1)
    seen = {"steps": 0}
    rows: list[tuple[int, float]] = []
    started = time.perf_counter()

    def sample() -> bool:  # called by the loop before every step
        seen["steps"] += 1
        if seen["steps"] % every == 0:
            rows.append((seen["steps"], rss_mb()))
        return False

    with tempfile.TemporaryDirectory() as folder:
        run_headless(spec, record=Path(folder) / "long.jsonl", should_stop=sample)
    elapsed = time.perf_counter() - started
    print(f"headless run, {steps} steps ({steps / elapsed:,.0f} steps/s), recording to a file")
    print(f"{'steps':>10}  {'RSS MB':>8}")
    for step, rss in rows:
        print(f"{step:>10}  {rss:>8.1f}")
    (first_step, first), (last_step, last) = rows[0], rows[-1]
    growth = (last - first) * 1024 * 1024 / max(last_step - first_step, 1)
    print(
        f"growth {growth:,.1f} bytes/step from step {first_step} to {last_step}; "
        f"last/first RSS {last / first:.2f}x"
    )


# -- 2. reading a large recording -------------------------------------------------------------
def make_recording(path: Path, size_mb: int) -> int:
    from gradtui.events import LayerInfo, RunFinished, RunStarted, StepStats
    from gradtui.recording.codec import event_to_json
    from gradtui.recording.parser import FORMAT

    depth = 20
    layers = tuple(LayerInfo(f"blocks.{i}.linear", "Linear", i, 4160) for i in range(depth))
    started = RunStarted(
        "big", "A big recording", "", {}, layers, tuple(f"blocks.{i}" for i in range(depth)),
        0, 10,
    )  # fmt: skip
    target = size_mb * 1024 * 1024
    steps = 0
    with path.open("w", encoding="utf-8") as file:
        file.write(json.dumps({"format": FORMAT}) + "\n" + event_to_json(started) + "\n")
        while file.tell() < target:
            lines = []
            for _ in range(1000):
                scale = 1.0 + 0.1 * math.sin(steps / 500)
                norms = tuple(scale * (1 + i / depth) for i in range(depth))
                heavy = steps % 10 == 0
                lines.append(event_to_json(StepStats(
                    steps, 1.0 / (1 + steps / 1e4), sum(norms), None, norms, (0,) * depth,
                    tuple(8.0 for _ in norms), tuple(1e-3 for _ in norms), norms,
                    grad_mean_abs=norms if heavy else None,
                    grad_max_abs=norms if heavy else None,
                    grad_zero_frac=(0.0,) * depth if heavy else None,
                )))  # fmt: skip
                steps += 1
            file.write("\n".join(lines) + "\n")
        file.write(event_to_json(RunFinished(steps)) + "\n")
    return steps


def report(path: Path) -> None:
    from gradtui.report.recorded import report_files

    before = rss_mb()
    started = time.perf_counter()
    result = report_files([path]).report
    elapsed = time.perf_counter() - started
    size = path.stat().st_size / 1024 / 1024
    print(
        f"report of a {size:,.0f} MB recording ({result['steps_run']:,} steps) in "
        f"{elapsed:.0f} s ({size / elapsed:.1f} MB/s)"
    )
    print(
        f"RSS before reading {before:.0f} MB, peak {peak_mb():.0f} MB "
        f"({peak_mb() / before:.2f}x); peak / file size {peak_mb() / size:.2f}x"
    )


def in_child(*args: str) -> None:
    subprocess.run([sys.executable, __file__, *args], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100_000, help="headless run length")
    parser.add_argument("--samples", type=int, default=8, help="RSS readings during the run")
    parser.add_argument("--size-mb", type=int, default=256, help="recording size to read")
    parser.add_argument("--part", choices=["headless", "make", "report"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part == "headless":
        headless(args.steps, args.samples)
    elif args.part == "make":
        make_recording(args.path, args.size_mb)
    elif args.part == "report":
        report(args.path)
    else:
        in_child("--part", "headless", "--steps", str(args.steps), "--samples", str(args.samples))
        print()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "big.jsonl"
            in_child("--part", "make", "--path", str(path), "--size-mb", str(args.size_mb))
            in_child("--part", "report", "--path", str(path))


if __name__ == "__main__":
    main()
