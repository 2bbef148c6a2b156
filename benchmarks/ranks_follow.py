"""Does the merged dashboard keep up with a run's rank files? Prints figures; not a test.

--ranks writer processes (no torch) each record a rank file of a 20-layer model, paced at
--rate steps/s per rank (0: as fast as the writer goes), for --seconds. `gradtui attach`'s
app (headless, 120x40) follows all of them as one run. Every 0.25 s it samples how far each
rank's panel is behind its writer, in steps and in seconds, and how thinly it shows them
(attach shows every Nth step when it falls behind, and says so). Goal: at a training's rate
the screen stays within about a second of every rank and shows every step.

    python benchmarks/ranks_follow.py                       # 4 ranks at 200 and 2,000 steps/s
    python benchmarks/ranks_follow.py --rates 0 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gradtui.events import LayerInfo, RunFinished, RunStarted, StepStats  # noqa: E402
from gradtui.recording import Recorder  # noqa: E402
from gradtui.recording.paths import rank_path  # noqa: E402

LAYERS = 20
SIZE = (120, 40)


def write_rank(path: str, rank: int, world: int, rate: float, seconds: float, done) -> None:
    layers = tuple(LayerInfo(f"blocks.{i}", "Linear", i, 4160) for i in range(LAYERS))
    names = tuple(layer.name for layer in layers)
    with Recorder(Path(path)) as recorder:
        recorder(RunStarted("ranks", "ranks", "", {}, layers, names, 0, 16, rank=rank,
                            world_size=world))  # fmt: skip
        start = time.perf_counter()
        step = 0
        while (now := time.perf_counter()) - start < seconds:
            if rate and step > (now - start) * rate:
                time.sleep(min(0.002, step / rate - (now - start)))
                continue
            norms = tuple(0.1 * (1 + 0.01 * (step % 7)) for _ in range(LAYERS))
            recorder(StepStats(step, 1.0 / (1 + step), 0.5, None, norms, (0,) * LAYERS,
                               (1.0,) * LAYERS, (1e-3,) * LAYERS, None,
                               outside_seconds=0.001))  # fmt: skip
            done[rank] = step
            step += 1
        recorder(RunFinished(step))


async def follow(paths: list[Path], done, seconds: float) -> list[tuple[list[int], int]]:
    from gradtui.scenario.spec import discover
    from gradtui.ui.attach import AttachApp
    from gradtui.ui.screens.ranks import RanksDashboard

    samples: list[tuple[list[int], int]] = []
    app = AttachApp(paths, catalog=discover())
    async with app.run_test(size=SIZE) as pilot:
        start = time.perf_counter()
        while time.perf_counter() - start < seconds + 30:
            await pilot.pause(0.25)
            screen = app.screen
            if not isinstance(screen, RanksDashboard):
                continue
            shown = [f.history.latest.step if f.history.latest else -1 for f in screen.feeds]
            behind = [max(0, done[r] - s) for r, s in enumerate(shown)]
            every = max(f.source.shown_every() for f in screen.feeds)
            samples.append((behind, every))
            if all(f.history.ended for f in screen.feeds):
                break
        await pilot.press("q")
    return samples


def run(ranks: int, rate: float, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "ranks.jsonl"
        paths = [rank_path(base, r) for r in range(ranks)]
        done = mp.Array("l", [0] * ranks)
        writers = [
            mp.Process(target=write_rank, args=(str(p), r, ranks, rate, seconds, done))
            for r, p in enumerate(paths)
        ]
        for w in writers:
            w.start()
        while not all(p.exists() for p in paths):
            time.sleep(0.01)
        samples = asyncio.run(follow(paths, done, seconds))
        for w in writers:
            w.join()
        written = [done[r] + 1 for r in range(ranks)]
    while_writing = [s for s in samples[: int(seconds * 4)]]
    behind = [max(b) for b, _ in while_writing] or [0]
    speed = statistics.median(written) / seconds
    lag_s = statistics.median(behind) / max(speed, 1e-9)
    print(
        f"{ranks} ranks at {'full speed' if not rate else f'{rate:.0f} steps/s'} "
        f"({speed:.0f} steps/s each, {sum(written)} steps in all): dashboard behind its "
        f"slowest-shown rank by median {statistics.median(behind):.0f} steps "
        f"({lag_s:.2f} s), max {max(behind)}; shown every {max(e for _, e in samples)} step(s); "
        f"caught up at the end: {all(b == 0 for b in samples[-1][0]) if samples else False}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=4)
    parser.add_argument("--rates", default="200,2000", help="steps/s per rank; 0 = full speed")
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    for rate in (float(r) for r in args.rates.split(",")):
        run(args.ranks, rate, args.seconds)


if __name__ == "__main__":
    main()
