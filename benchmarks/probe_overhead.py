"""Per-step cost of gradtui's statistics against the same training loop without them.

Both loops run in this process, interleaved in rounds, so machine noise hits both alike.
Prints milliseconds per step and the ratio (goal: under 1.10x on a 20-layer, width-64 MLP
with batch 64, every step captured). Two more loops show where the cost lies:

- floor: the bare loop plus the least any per-step gradient statistic costs, one
  ``_foreach_norm`` over the gradients and one transfer to Python;
- reads: the bare loop plus every tensor the probe must measure (the gradients, the gradients
  at the block outputs, the weights) captured and reduced the way the probe does it, with none
  of its bookkeeping; the probe's figure less this one is what its own code costs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from gradtui.probe.norms import NormPlan
from gradtui.probe.probe import Probe
from gradtui.probe.taps import gradients_of
from gradtui.scenario.loop import loss_function, make_optimizer, watch_points
from gradtui.scenario.models import batches, build_model, make_data
from gradtui.scenario.spec import ScenarioSpec


def make_spec(depth: int, width: int, batch: int, heavy_every: int) -> ScenarioSpec:
    return ScenarioSpec(
        name="bench",
        title="bench",
        lesson="bench",
        model={"depth": depth, "width": width, "activation": "relu", "init": "kaiming"},
        data={"samples": 4096, "inputs": 16, "outputs": 1},
        train={"batch": batch, "lr": 0.001, "heavy_every": heavy_every},
    )


def _setup(spec: ScenarioSpec):
    net = build_model(spec)
    data = batches(make_data(spec.data), spec.train.batch, 0)
    return net, data, make_optimizer(spec, net), loss_function(spec)


def _plain_loop(
    spec: ScenarioSpec, steps: int, look: Callable[[torch.Tensor, list], None]
) -> float:
    """A user's loop: ``look(loss, params)`` after backward is all it does besides training."""
    net, data, optimizer, loss_fn = _setup(spec)
    params = list(net.parameters())
    start = time.perf_counter()
    for _ in range(steps):
        x, y = next(data)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        look(loss, params)
        optimizer.step()
    return (time.perf_counter() - start) / steps


def bare_loop(spec: ScenarioSpec, steps: int) -> float:
    return _plain_loop(spec, steps, lambda loss, _: loss.item())  # it reads its loss, as most do


def _grad_norms(loss: torch.Tensor, params: list) -> None:
    with torch.no_grad():  # the loss travels with the norms, as in the probe
        torch.stack([loss.detach(), *torch._foreach_norm([p.grad for p in params])]).tolist()


def floor_loop(spec: ScenarioSpec, steps: int) -> float:
    return _plain_loop(spec, steps, _grad_norms)


def reads_loop(spec: ScenarioSpec, steps: int) -> float:
    net, data, optimizer, loss_fn = _setup(spec)
    params = list(net.parameters())
    weights = [m.weight for m in net.modules() if isinstance(m, torch.nn.Linear)]
    outputs: list[torch.Tensor] = []
    net.tap = lambda _index, output: outputs.append(output)
    plan = None
    start = time.perf_counter()
    for _ in range(steps):
        x, y = next(data)
        optimizer.zero_grad(set_to_none=True)
        outputs.clear()
        loss = loss_fn(net(x), y)
        grads = gradients_of(loss, (*params, *outputs))
        for param, grad in zip(params, grads, strict=False):
            param.grad = grad
        measured = [*grads, *weights]
        plan = plan or NormPlan(measured)
        with torch.no_grad():
            torch.cat([loss.detach().reshape(1), *plan.norms(plan.gather(measured))]).tolist()
        optimizer.step()
    return (time.perf_counter() - start) / steps


def probed_loop(spec: ScenarioSpec, steps: int) -> float:
    net, data, optimizer, loss_fn = _setup(spec)
    probe = Probe(
        net, watch_points(net), spec.train.heavy_every, block_hooks=False, optimizer=optimizer
    )
    net.tap = probe.tap
    sink = []
    start = time.perf_counter()
    for step in range(steps):
        x, y = next(data)
        optimizer.zero_grad(set_to_none=True)
        probe.arm(step)  # as the engine does after zero_grad()
        loss = loss_fn(net(x), y)
        probe.backward(loss)
        stats = probe.after_backward(step, loss)
        done = probe.take_completed()
        if done is not None:
            sink.append(done)
        optimizer.step()
        probe.after_optimizer(stats)
    elapsed = (time.perf_counter() - start) / steps
    probe.remove()
    return elapsed


def measure(spec: ScenarioSpec, steps: int, rounds: int) -> tuple[float, ...]:
    """Median seconds per step of the bare, floor, reads and probed loops."""
    loops = (bare_loop, floor_loop, reads_loop, probed_loop)
    times: list[list[float]] = [[] for _ in loops]
    for loop in loops:
        loop(spec, 20)  # warm up allocator and threads
    for _ in range(rounds):
        for loop, seen in zip(loops, times, strict=True):
            seen.append(loop(spec, steps))
    return tuple(statistics.median(seen) for seen in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the engine uses 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'model':<34} {'bare ms':>8} {'floor':>7} {'reads':>7} {'probed ms':>10} {'ratio':>7}")
    for depth, width, batch, k in [
        (20, 64, 64, 1000000),
        (20, 64, 64, 10),
        (20, 64, 64, 1),
        (8, 256, 128, 10),
    ]:
        spec = make_spec(depth, width, batch, k)
        bare, floor, reads, probed = measure(spec, args.steps, args.rounds)
        heavy = "norms only" if k > args.steps else f"heavy every {k}"
        label = f"{depth}x{width} batch {batch}, {heavy}"
        print(
            f"{label:<34} {bare * 1e3:8.3f} {floor / bare:6.2f}x {reads / bare:6.2f}x"
            f" {probed * 1e3:10.3f} {probed / bare:6.2f}x"
        )


if __name__ == "__main__":
    main()
