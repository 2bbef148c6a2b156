"""How much the dashboard can take, and what it costs training. Prints figures; not a test.

1. Absorption: a worker process without torch (the real Gate, queue and batching) floods the
   dashboard with 21-layer step events, paced or as fast as it can. Each event's loss field
   carries the moment it was emitted, so at every UI tick the lag of the screen behind the
   worker is known exactly. Goal: >= 2,000 step events/s with the screen about a tick behind.
2. Memory: the UI process's resident size while 100,000 steps go through it. Goal: flat.
3. Training speed with the dashboard open (real worker, real engine) against the same run
   headless in its own process with the same single torch thread. Goal: >= 80%.
4. Time from starting the program to the picker on screen. Goal: < 1 s, without torch.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from gradtui.events import RunFinished, RunStarted, StepStats
from gradtui.scenario.spec import Catalog, ScenarioSpec, resolve
from gradtui.ui.app import GradApp
from gradtui.ui.screens.runscreen import RunScreen
from gradtui.ui.sources import LiveSource
from gradtui.ui.worker import Gate

SIZE = (120, 40)
TICKS: list[tuple[float, int, float | None, int]] = []  # (time, steps seen, lag s, rss kB)


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def flood(commands, out, controls) -> None:
    """A stand-in worker: the spec's layers, synthetic statistics, the same Gate."""
    out.cancel_join_thread()
    generation, spec = commands.get()
    gate = Gate(out, controls, generation)
    depth = spec.model.depth
    names = (*(f"blocks.{i}" for i in range(depth)), "head")
    from gradtui.events import LayerInfo

    layers = tuple(LayerInfo(f"{n}.linear", "Linear", i, 4160) for i, n in enumerate(names))
    gate.emit(RunStarted(spec.name, spec.title, "", {}, layers, names, spec.train.steps, 10))
    n = len(names)
    for step in range(spec.train.steps):
        if gate.should_stop():
            break
        wobble = 1 + 0.1 * math.sin(step / 7)
        norms = tuple(10 ** (-0.6 * (n - 1 - i)) * wobble for i in range(n))
        heavy = step % 10 == 0
        gate.emit(
            StepStats(
                step=step,
                loss=time.monotonic(),  # the moment of emission, read back by the UI
                grad_norm_total=norms[-1],
                grad_norm_clipped=None,
                grad_norm=norms,
                nonfinite=(0,) * n,
                weight_norm=(4.6,) * n,
                update_ratio=(1e-3,) * n,
                block_grad_norm=norms,
                grad_mean_abs=norms if heavy else None,
                grad_max_abs=norms if heavy else None,
                grad_zero_frac=(0.0,) * n if heavy else None,
                dead_frac=(0.0,) * n if heavy else None,
                saturated_frac=(0.1,) * n if heavy else None,
            )
        )
    gate.emit(RunFinished(steps_run=spec.train.steps))
    gate.flush()
    commands.get()
    os._exit(0)


def patch_tick() -> None:
    """Record, after every UI tick, the steps shown, the lag behind the worker, the memory."""
    original = RunScreen.tick

    def tick(self: RunScreen) -> None:
        original(self)
        history = self.feeds[0].history
        stamped = history.latest and history.latest.loss > 1000  # flood() stamps the loss
        lag = time.monotonic() - history.latest.loss if stamped else None
        TICKS.append((time.monotonic(), history.steps_seen, lag, rss_kb()))

    RunScreen.tick = tick


async def run_app(spec: ScenarioSpec, speed: float | None, target) -> list:
    """Run the dashboard until the run ends; target None is the real worker (torch)."""
    TICKS.clear()
    app = GradApp(
        catalog=Catalog({}, []),
        start=[spec],
        speed=speed,
        make_source=lambda s, v: LiveSource(s, v, **({"target": target} if target else {})),
    )
    async with app.run_test(size=SIZE) as pilot:
        while not isinstance(app.screen, RunScreen) or not app.screen.feeds[0].history.ended:
            await pilot.pause(0.25)
        await pilot.press("q")
    return list(TICKS)


def absorption(steps: int, speed: float | None) -> dict:
    spec = resolve("sigmoid_deep").with_overrides(steps=steps)
    ticks = asyncio.run(run_app(spec, speed, flood))
    flowing = [t for t in ticks if 0 < t[1] < steps]
    start = flowing[0] if flowing else ticks[0]
    end = next(t for t in ticks if t[1] >= steps)
    rate = (end[1] - start[1]) / max(end[0] - start[0], 1e-9)
    lags = sorted(t[2] for t in flowing if t[2] is not None) or [math.nan]
    return {
        "rate": rate,
        "lag_p50": lags[len(lags) // 2] * 1000,
        "lag_p95": lags[int(len(lags) * 0.95)] * 1000,
        "lag_max": lags[-1] * 1000,
        "ticks": ticks,
    }


HEADLESS = """
import sys, time, torch
from gradtui.scenario.loop import run
from gradtui.events import StepStats
from gradtui.scenario.spec import ScenarioSpec
threads = int(sys.argv[2])
if threads:
    torch.set_num_threads(threads)
stamps = []
spec = ScenarioSpec.model_validate_json(sys.argv[1])
run(spec, lambda e: isinstance(e, StepStats) and stamps.append(time.monotonic()))
print((len(stamps) - 1) / (stamps[-1] - stamps[0]))
"""


def headless_rate(spec: ScenarioSpec, threads: int) -> float:
    out = subprocess.run(
        [sys.executable, "-c", HEADLESS, spec.model_dump_json(), str(threads)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


async def dashboard_rate(spec: ScenarioSpec) -> float:
    """Steps per second as they reach the screen (recorded at each tick), first to last."""
    ticks = await run_app(spec, None, None)
    flowing = [(t, seen) for t, seen, _lag, _rss in ticks if seen]
    (t0, s0), (t1, s1) = flowing[0], next(tick[:2] for tick in ticks if tick[1] == flowing[-1][1])
    return (s1 - s0) / (t1 - t0)


PICKER = """
import sys, time
start = float(sys.argv[1])
from gradtui.ui.app import GradApp
async def shown(pilot):  # Textual runs this once the first screen is on display
    print(time.time() - start, "torch" in sys.modules, type(pilot.app.screen).__name__)
    pilot.app.exit()
GradApp().run(headless=True, size=(120, 40), auto_pilot=shown)
"""


def picker_time() -> tuple[float, bool]:
    out = subprocess.run(
        [sys.executable, "-c", PICKER, repr(time.time())],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, torch_loaded, screen = out.stdout.split()
    assert screen == "PickerScreen", screen
    return float(seconds), torch_loaded == "True"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds")
    args = parser.parse_args()
    steps = 20_000 if args.quick else 100_000
    patch_tick()

    print("dashboard absorption (synthetic 21-layer steps from a worker process, 120x40):")
    for speed in (2000, 5000, None):
        result = absorption(steps // 5 if speed else steps, speed)
        label = "max" if speed is None else f"{speed}/s"
        print(
            f"  worker pace {label:>7}: absorbed {result['rate']:8.0f} steps/s, screen behind "
            f"the worker p50 {result['lag_p50']:.0f} ms, p95 {result['lag_p95']:.0f} ms, "
            f"max {result['lag_max']:.0f} ms (tick 100 ms, batches 33 ms)"
        )
        if speed is None:
            memory = result["ticks"]
    print(f"memory of the UI process over {steps:,} steps (resident, MB):")
    marks = [steps // 10, steps // 2, steps - 1]
    for mark in marks:
        tick = next((t for t in memory if t[1] >= mark), memory[-1])
        print(f"  after {tick[1]:>7,} steps: {tick[3] / 1024:6.1f}")

    rounds = 1 if args.quick else 3
    spec = resolve("relu_deep").with_overrides(steps=300 if args.quick else 600)
    one, default, live = [], [], []
    for _ in range(rounds):
        one.append(headless_rate(spec, 1))
        default.append(headless_rate(spec, 0))
        live.append(asyncio.run(dashboard_rate(spec)))
    h1, hd, lv = (statistics.median(x) for x in (one, default, live))
    print(f"training speed, {spec.name} {spec.train.steps} steps (median of {rounds}):")
    print(f"  headless, 1 torch thread (as the worker): {h1:7.1f} steps/s")
    print(f"  headless, torch's default threads:        {hd:7.1f} steps/s")
    print(f"  dashboard open (worker process):          {lv:7.1f} steps/s = {lv / h1:.0%}")
    times = [picker_time() for _ in range(3)]
    worst = max(t for t, _ in times)
    torch_loaded = any(loaded for _, loaded in times)
    print(
        f"time to the picker: median {statistics.median(t for t, _ in times):.2f} s, "
        f"worst {worst:.2f} s, torch imported: {torch_loaded}"
    )


if __name__ == "__main__":
    main()
