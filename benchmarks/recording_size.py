"""How large a gradtui.watch recording grows, and what its writer holds in memory.

Trains the W2 MLP (20 x Linear(64, 64) ReLU and a head: 21 layers) for a few hundred steps
under ``gradtui.watch`` to collect real step events, then hands a long run of them (the same
events, renumbered) to a monitor's writer the way training would, thinned as a recording is
by default. Prints bytes per step, the file size of the long run (and what keeping every step
would take), the peak of Python memory (tracemalloc) in the training process while it was
written, and the writer process's peak resident memory (Linux; the whole interpreter).

Then ``gradtui run --record`` of one scenario (--scenario, --run-steps), the same seeded run
twice: thinned (the default) and with ``--keep-every-step``; prints bytes per step of each.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
import tracemalloc
from pathlib import Path

import torch
from torch import nn
from watch_overhead import peak_resident  # this folder: run as a script

import gradtui
from gradtui.events import StepStats
from gradtui.scenario.headless import run_headless
from gradtui.scenario.spec import resolve


def w2() -> nn.Module:
    layers: list[nn.Module] = [nn.Linear(64, 64), nn.ReLU()]
    for _ in range(19):
        layers += [nn.Linear(64, 64), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(64, 10))


def real_steps(steps: int) -> list[StepStats]:
    torch.manual_seed(0)
    model = w2()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(128, 64), torch.randn(128, 10)
    events: list = []
    with gradtui.watch(model, opt, on_event=events.append, diagnose=False) as monitor:
        for _ in range(steps):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            monitor.step(loss)
            opt.step()
    return [e for e in events if isinstance(e, StepStats)]


def write_run(path: Path, samples: list[StepStats], steps: int, keep_every_step: bool):
    """Hand ``steps`` events to a monitor's writer; returns (file bytes, peak bytes here,
    the writer process's peak resident bytes or None, seconds)."""
    monitor = gradtui.watch(w2(), record=path, diagnose=False, keep_every_step=keep_every_step)
    monitor._start()  # the header and run_started, as a first step would
    tracemalloc.start()
    start = time.perf_counter()
    for step in range(steps):
        monitor._emit(dataclasses.replace(samples[step % len(samples)], step=step))
        if step % 512 == 511:  # training's pace: the writer keeps up
            monitor._worker.drain()
    monitor.flush()
    writer = peak_resident(monitor._worker._process.pid) if monitor.writer == "process" else None
    monitor.close()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return path.stat().st_size, peak, writer, seconds


def run_record(folder: Path, scenario: str, steps: int) -> None:
    """The same seeded scenario run recorded both ways: bytes per step of each file."""
    spec = resolve(scenario).with_overrides(steps, None)
    sizes = {}
    for mode, keep in (("thinned (the default)", False), ("--keep-every-step", True)):
        path = folder / f"run_{keep}.jsonl"
        run_headless(spec, record=path, keep_every_step=keep)
        sizes[mode] = path.stat().st_size
    thinned, full = sizes.values()
    print(
        f"run --record {scenario}, {steps} steps: thinned (the default) {thinned / steps:.0f} "
        f"bytes/step ({thinned / 1e6:.2f} MB), --keep-every-step {full / steps:.0f} bytes/step "
        f"({full / 1e6:.2f} MB): {full / thinned:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000, help="steps of the long run")
    parser.add_argument("--train-steps", type=int, default=320, help="real steps to sample")
    parser.add_argument("--scenario", default="sigmoid_deep", help="run --record this one")
    parser.add_argument("--run-steps", type=int, default=20_000, help="run --record steps")
    args = parser.parse_args()
    samples = real_steps(args.train_steps)
    heavy = sum(s.is_heavy for s in samples)
    with tempfile.TemporaryDirectory() as tmp:
        full, *_ = write_run(Path(tmp) / "full.jsonl", samples, len(samples), True)
        print(
            f"W2, 21 layers: {full / len(samples):.0f} bytes a step recorded in full "
            f"({heavy} of {len(samples)} steps heavy)"
        )
        size, peak, writer, seconds = write_run(
            Path(tmp) / "long.jsonl", samples, args.steps, False
        )
        process = f"{writer / 1e6:.0f} MB" if writer else "not measured"
        print(
            f"{args.steps} steps, thinned (the default): file {size / 1e6:.1f} MB (every step "
            f"kept: about {full / len(samples) * args.steps / 1e6:.0f} MB), {seconds:.0f} s to "
            f"write; Python memory in the training process peaked {peak / 1e6:.1f} MB over "
            f"its start, the writer process's resident memory at {process}"
        )
        run_record(Path(tmp), args.scenario, args.run_steps)


if __name__ == "__main__":
    main()
