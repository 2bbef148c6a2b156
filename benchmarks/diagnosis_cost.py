"""Per-step cost of the diagnosis rules against the training step they watch.

Trains a 20-layer MLP (width 64, batch 64) with the engine to record its events and time its
steps, then replays a few thousand steps of those events (and of a failing run, where rules
fire and write their messages) through a fresh Diagnoser, one event at a time, as the
dashboard does. Both are measured in this process. Goal: well under 1 ms per step.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

from gradtui.diagnosis import Diagnoser
from gradtui.events import Event, RunStarted, StepStats
from gradtui.scenario.loop import run
from gradtui.scenario.spec import ScenarioSpec


def make_spec(activation: str, init: str, steps: int, depth: int) -> ScenarioSpec:
    return ScenarioSpec(
        name=f"bench_{activation}",
        title="bench",
        lesson="bench",
        model={"depth": depth, "width": 64, "activation": activation, "init": init},
        data={"samples": 4096, "inputs": 16, "outputs": 1},
        train={"batch": 64, "lr": 0.005, "steps": steps},
    )


def record(spec: ScenarioSpec) -> tuple[list[Event], float]:
    """The run's events and its wall time per training step (probe included)."""
    events: list[Event] = []
    start = time.perf_counter()
    run(spec, events.append)
    elapsed = time.perf_counter() - start
    steps = sum(isinstance(e, StepStats) for e in events)
    return events, elapsed / max(steps, 1)


def stretch(events: list[Event], steps: int) -> list[Event]:
    """The recorded steps cycled, renumbered, to ``steps`` steps after the start event."""
    start = next(e for e in events if isinstance(e, RunStarted))
    recorded = [e for e in events if isinstance(e, StepStats)]
    out: list[Event] = [start]
    for i in range(steps):
        out.append(replace(recorded[i % len(recorded)], step=i))
    return out


def diagnose_cost(events: list[Event], repeats: int) -> tuple[float, int]:
    """Median microseconds per step over ``repeats`` fresh replays; and the findings."""
    steps = sum(isinstance(e, StepStats) for e in events)
    times = []
    found = 0
    for _ in range(repeats):
        diagnoser = Diagnoser()
        start = time.perf_counter()
        for event in events:
            diagnoser.observe(event)
        times.append((time.perf_counter() - start) / steps * 1e6)
        found = len(diagnoser.diagnoses())
    return statistics.median(times), found


def read_cost(events: list[Event], reads: int) -> float:
    """Microseconds for one redraw's reads: the chain view and the layer statuses."""
    diagnoser = Diagnoser()
    for event in events:
        diagnoser.observe(event)
    start = time.perf_counter()
    for _ in range(reads):
        diagnoser.links()
        diagnoser.layer_status()
    return (time.perf_counter() - start) / reads * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=19, help="hidden blocks (+ head = layers)")
    parser.add_argument("--train-steps", type=int, default=300)
    parser.add_argument("--steps", type=int, default=5000, help="steps replayed per run")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    print(f"{args.depth + 1}-layer MLP, width 64, batch 64; {args.steps} steps replayed")
    print(f"{'run':<14}{'train ms/step':>14}{'diagnose us/step':>18}{'share':>8}{'found':>7}")
    for activation, init in (("relu", "kaiming"), ("sigmoid", "default")):
        spec = make_spec(activation, init, args.train_steps, args.depth)
        events, train_s = record(spec)
        cost_us, found = diagnose_cost(stretch(events, args.steps), args.repeats)
        share = cost_us / (train_s * 1e6)
        print(
            f"{activation + '/' + init:<14}{train_s * 1e3:>14.2f}{cost_us:>18.1f}"
            f"{share:>8.1%}{found:>7}"
        )
    print(f"one redraw's links() + layer_status(): {read_cost(events, 2000):.1f} us")


if __name__ == "__main__":
    main()
