"""A small model trained under FSDP2 with gradtui.watch on each rank, and its unsharded twin.

Run as a script, it spawns the ranks (gloo on 127.0.0.1, CPU meshes):
    python fsdp_watched.py WORLD PORT OUT_DIR MODEL OPTIMIZER [--nan input|grad:STEP:RANK]
        [--accumulate WINDOW] [--slow-rank RANK] [--precision bf16] [--offload cpu]
Four ranks make a 2x2 hybrid mesh (replicate x shard). Each rank records OUT_DIR/run.rankN.jsonl.
The twin (``train_twin``) sees the concatenated batches of every rank in one process.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys

import torch
from torch import nn

STEPS = 6
BATCH = 6  # per rank
EVERY = 2


class Block(nn.Module):
    """A pre-norm transformer block on (batch, tokens, width)."""

    def __init__(self, width: int = 8, heads: int = 2) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(width)
        wide = 2 * width
        self.mlp = nn.Sequential(nn.Linear(width, wide), nn.GELU(), nn.Linear(wide, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


def build(kind: str) -> nn.Module:
    torch.manual_seed(0)
    if kind == "mlp":  # 7 rows shard unevenly over 2 and 4 ranks
        layers = [nn.Linear(8, 7), nn.ReLU(), nn.Linear(7, 16), nn.ReLU(), nn.Linear(16, 3)]
        return nn.Sequential(*layers)
    return nn.Sequential(nn.Linear(8, 8), Block(), Block(), nn.Linear(8, 3))


def batch(kind: str, step: int, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1000 * step + rank)
    shape = (BATCH, 8) if kind == "mlp" else (BATCH, 4, 8)
    x = torch.randn(*shape, generator=g)
    return x, torch.randn(*shape[:-1], 3, generator=g)


def optimizer(name: str, model: nn.Module) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=0.05)
    return torch.optim.Adam(model.parameters(), lr=1e-2)


def train_accumulating(model, opt, monitor, batches, window: int) -> None:
    """``window`` micro-batches a step, gradient sync off for all but the last (FSDP2's
    way to accumulate without a reduce-scatter per micro-batch)."""
    for x, y in batches:
        opt.zero_grad()
        for micro, (xs, ys) in enumerate(zip(x.chunk(window), y.chunk(window), strict=True)):
            model.set_requires_gradient_sync(micro == window - 1)
            loss = nn.functional.mse_loss(model(xs), ys) / window
            loss.backward()
        monitor.step(loss)
        opt.step()
    monitor.close()


def train(model, opt, monitor, batches, nan_input: int = -1, nan_grad: int = -1) -> list[int]:
    """A NaN in this rank's batch at step ``nan_input``, or in the first entry of its shard
    of the first layer's weight gradient at step ``nan_grad``. Steps the monitor calls
    non-finite are not applied (the loop skips optimizer.step()); returns them."""
    skipped = []
    for step, (x, y) in enumerate(batches):
        if step == nan_input:
            x = x.clone()
            x[0, ...] = float("nan")
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x).float(), y)
        loss.backward()
        if step == nan_grad:
            model[0].weight.grad.to_local().view(-1)[0] = float("nan")
        monitor.step(loss)
        if not monitor.finite:
            skipped.append(step)
            continue
        opt.step()
    monitor.close()
    return skipped


def watched(model: nn.Module, opt: torch.optim.Optimizer, path: str, steps_path: str):
    """gradtui.watch recording to ``path``, and every step's event kept unrounded in
    ``steps_path`` (JSON) at the close."""
    import gradtui
    from gradtui.events import StepStats

    steps: list[dict] = []

    def keep(event: object) -> None:
        if isinstance(event, StepStats):
            steps.append(dataclasses.asdict(event))

    monitor = gradtui.watch(model, optimizer=opt, record=path, every=EVERY, on_event=keep)
    close = monitor.close

    def close_and_save() -> None:
        close()
        with open(steps_path, "w") as f:
            json.dump(steps, f)

    monitor.close = close_and_save
    return monitor


def train_twin(kind: str, opt_name: str, world: int, path: str) -> None:
    model = build(kind)
    opt = optimizer(opt_name, model)
    monitor = watched(model, opt, path, path + ".steps.json")
    batches = [
        tuple(map(torch.cat, zip(*(batch(kind, s, r) for r in range(world)), strict=True)))
        for s in range(STEPS)
    ]
    train(model, opt, monitor, batches)


def _rank(
    rank: int,
    world: int,
    port: str,
    out: str,
    kind: str,
    opt_name: str,
    nan: str,
    accumulate: int,
    slow_rank: int,
    bf16: bool,
    offload: bool,
) -> None:
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import CPUOffloadPolicy, MixedPrecisionPolicy, fully_shard

    if slow_rank == rank:  # this rank's steps all count as slow, the others' none
        import gradtui.watch.monitor

        gradtui.watch.monitor.LIVE_SECONDS = 0.0
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    model = build(kind)
    shape = (2, world // 2) if world == 4 else (world,)
    names = ("replicate", "shard") if world == 4 else ("shard",)
    mesh = init_device_mesh("cpu", shape, mesh_dim_names=names)
    policy = {}
    if bf16:  # compute in bfloat16, reduce and step in float32
        policy["mp_policy"] = MixedPrecisionPolicy(torch.bfloat16, reduce_dtype=torch.float32)
    if offload:  # shards, gradients and the optimizer's step on the CPU
        policy["offload_policy"] = CPUOffloadPolicy(pin_memory=False)
    for module in model:
        if any(p.requires_grad for p in module.parameters()):
            fully_shard(module, mesh=mesh, **policy)
    fully_shard(model, mesh=mesh, **policy)
    opt = optimizer(opt_name, model)
    monitor = watched(model, opt, f"{out}/run.jsonl", f"{out}/rank{rank}.steps.json")
    batches = [batch(kind, s, rank) for s in range(STEPS)]
    if accumulate:
        train_accumulating(model, opt, monitor, batches, accumulate)
    else:
        where, step, nan_rank = nan.split(":") if nan else ("", -1, -1)
        planted = int(step) if int(nan_rank) == rank else -1
        nans = (planted, -1) if where == "input" else (-1, planted)
        skipped = train(model, opt, monitor, batches, *nans)
        with open(f"{out}/rank{rank}.skipped.json", "w") as f:
            json.dump(skipped, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    world, port, out, kind, opt_name = sys.argv[1:6]
    options = dict(zip(sys.argv[6::2], sys.argv[7::2], strict=True))
    nan = options.get("--nan", "")  # input:STEP:RANK or grad:STEP:RANK
    accumulate, slow = int(options.get("--accumulate", 0)), int(options.get("--slow-rank", -1))
    bf16 = options.get("--precision") == "bf16"
    offload = options.get("--offload") == "cpu"
    args = (int(world), port, out, kind, opt_name, nan, accumulate, slow, bf16, offload)
    torch.multiprocessing.spawn(_rank, args=args, nprocs=int(world))
