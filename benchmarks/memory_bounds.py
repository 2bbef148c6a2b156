"""Memory against run length: a long headless run, and reading a large recording.

1. headless: ``gradtui run`` of a small scenario (depth 4, width 16) for --steps steps,
   recording to a file; the resident memory (VmRSS) is sampled as the run goes. Printed: RSS
   at each checkpoint, and the growth per step between the first checkpoint and the last
   (before, the run kept every event: about 4.2 KB a step).
2. report: a recording of --size-mb megabytes is generated (synthetic steps of a 20-layer
   run, as ``gradtui run`` writes them) and ``gradtui report`` reads it in a fresh process;
   printed: the file's size, the peak RSS of the reading process, the RSS of the same
   process before reading (imports done), and their ratio, plus read speed.

3. attach following a fast writer: a writer process appends synthetic steps of a 20-layer
   run at --writer-rate steps a second for --follow-seconds; attach's reader (FollowReader,
   its bounded Backlog) follows it, and what the dashboard does each tick (a FollowSource
   polled every 0.1 s, its events absorbed by a RunHistory) runs at the screen's pace. Printed
   every second: the writer's steps, the steps shown, the backlog's length and stride, and
   the RSS; then the peak RSS and backlog length against the end's (bounded: they stop
   growing while the file does).

Each part runs in its own process, so one's memory does not hide the other's.

    python benchmarks/memory_bounds.py                 # 100k steps, a 256 MB recording
    python benchmarks/memory_bounds.py --steps 1000000 --size-mb 1024
    python benchmarks/memory_bounds.py --follow-seconds 150 --writer-rate 5000
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


# -- 3. attach following a fast writer -----------------------------------------------------------
def step_lines(start: int, count: int, depth: int = 20) -> str:
    from gradtui.events import StepStats
    from gradtui.recording.codec import event_to_json

    lines = []
    for step in range(start, start + count):
        norms = tuple((1.0 + 0.1 * math.sin(step / 500)) * (1 + i / depth) for i in range(depth))
        heavy = step % 16 == 0
        lines.append(event_to_json(StepStats(
            step, 1.0 / (1 + step / 1e4), sum(norms), None, norms, (0,) * depth,
            tuple(8.0 for _ in norms), tuple(1e-3 for _ in norms), norms,
            grad_mean_abs=norms if heavy else None,
            grad_max_abs=norms if heavy else None,
            grad_zero_frac=(0.0,) * depth if heavy else None,
        )))  # fmt: skip
    return "\n".join(lines) + "\n"


def fast_writer(path: Path, rate: int, seconds: float) -> None:
    """Append steps at ``rate`` a second for ``seconds``, as a fast training loop's recorder
    would (a line-buffered file, flushed in batches of a hundredth of a second)."""
    from gradtui.events import LayerInfo, RunFinished, RunStarted
    from gradtui.recording.codec import event_to_json
    from gradtui.recording.parser import FORMAT

    depth = 20
    layers = tuple(LayerInfo(f"blocks.{i}.linear", "Linear", i, 4160) for i in range(depth))
    started = RunStarted(
        "fast", "A fast writer", "", {}, layers, tuple(f"blocks.{i}" for i in range(depth)),
        0, 16,
    )  # fmt: skip
    batch = max(rate // 100, 1)
    template = step_lines(0, 1024, depth).splitlines()  # encoded once: the writer is not the bench
    with path.open("w", encoding="utf-8") as file:
        file.write(json.dumps({"format": FORMAT}) + "\n" + event_to_json(started) + "\n")
        file.flush()
        start, steps = time.perf_counter(), 0
        while (elapsed := time.perf_counter() - start) < seconds:
            due = int(elapsed * rate) + batch
            chunk = [renumber(template[s % 1024], s) for s in range(steps, due)]
            file.write("\n".join(chunk) + "\n" if chunk else "")
            file.flush()
            steps = due
            time.sleep(0.01)
        file.write(event_to_json(RunFinished(steps)) + "\n")


def renumber(line: str, step: int) -> str:
    """A template step line (``{"type":"step","step":N,...``) with its step number changed."""
    kind, _, rest = line.split(",", 2)
    return f'{kind},"step":{step},{rest}'


def follow(path: Path, seconds: float) -> None:
    from gradtui.ui.follow_source import FollowSource
    from gradtui.ui.history import RunHistory

    while not path.exists():
        time.sleep(0.01)
    source, history = FollowSource(path), RunHistory(live=False)
    source.start()
    rows: list[tuple[float, float, int, int, int, float]] = []
    started = last = time.perf_counter()
    while time.perf_counter() - started < seconds * 6 + 30 and not history.ended:
        for event in source.poll():
            history.absorb(event)
        now = time.perf_counter()
        if now - last >= 1.0:
            last = now
            shown = history.latest.step if history.latest else 0
            rows.append((now - started, path.stat().st_size / 1e6, shown,
                         len(source.reader.backlog), source.shown_every(), rss_mb()))  # fmt: skip
        time.sleep(0.1)  # the dashboard's tick
    took = time.perf_counter() - started
    source.close()
    print_follow(rows, file_steps(path), seconds, took, history.ended, source.reader.backlog.bound)


def print_follow(rows: list, written: int, seconds: float, took: float, ended: bool, bound: int):
    print(f"attach following a fast writer: {written:,} steps written in {seconds:.0f} s")
    print(
        f"{'s':>5}  {'file MB':>7}  {'shown step':>10}  {'backlog':>7}  {'every':>5}  {'RSS MB':>7}"
    )
    for at, size, shown, held, every, rss in rows:
        print(f"{at:>5.0f}  {size:>7.1f}  {shown:>10}  {held:>7}  {every:>5}  {rss:>7.1f}")
    rss = [r[5] for r in rows]
    half = rss[len(rss) // 2 :]
    print(
        f"peak RSS {max(rss):.0f} MB, end {rss[-1]:.0f} MB, second half growth "
        f"{half[-1] - half[0]:+.1f} MB; backlog peak {max(r[3] for r in rows)} events (bound "
        f"{bound}); {'shown to its end' if ended else 'not at its end'} after {took:.0f} s; "
        f"peak / first RSS {max(rss) / rss[0]:.2f}x"
    )


def file_steps(path: Path) -> int:
    with path.open("rb") as file:
        return max(sum(1 for line in file if line.startswith(b'{"type":"step"')), 0)


def attach(seconds: float, rate: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fast.jsonl"
        writer = subprocess.Popen(
            [sys.executable, __file__, "--part", "writer", "--path", str(path),
             "--writer-rate", str(rate), "--follow-seconds", str(seconds)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True,
        )  # fmt: skip
        try:
            follow(path, seconds)
        finally:
            if writer.poll() is None:
                os.killpg(writer.pid, 15)
            writer.wait(timeout=60)


def in_child(*args: str) -> None:
    subprocess.run([sys.executable, __file__, *args], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100_000, help="headless run length")
    parser.add_argument("--samples", type=int, default=8, help="RSS readings during the run")
    parser.add_argument("--size-mb", type=int, default=256, help="recording size to read")
    parser.add_argument("--follow-seconds", type=float, default=60, help="the fast writer's run")
    parser.add_argument("--writer-rate", type=int, default=5000, help="its steps a second")
    parser.add_argument(
        "--part", choices=["headless", "make", "report", "attach", "writer"], help=argparse.SUPPRESS
    )
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part == "headless":
        headless(args.steps, args.samples)
    elif args.part == "make":
        make_recording(args.path, args.size_mb)
    elif args.part == "report":
        report(args.path)
    elif args.part == "attach":
        attach(args.follow_seconds, args.writer_rate)
    elif args.part == "writer":
        fast_writer(args.path, args.writer_rate, args.follow_seconds)
    else:
        in_child("--part", "headless", "--steps", str(args.steps), "--samples", str(args.samples))
        print()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "big.jsonl"
            in_child("--part", "make", "--path", str(path), "--size-mb", str(args.size_mb))
            in_child("--part", "report", "--path", str(path))
        print()
        in_child("--part", "attach", *("--follow-seconds", str(args.follow_seconds)),
                 *("--writer-rate", str(args.writer_rate)))  # fmt: skip


if __name__ == "__main__":
    main()
