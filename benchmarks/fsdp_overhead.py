"""What watching costs on FSDP2 against DDP: the same model, the same ranks, each against
its own bare loop, measured in the same run.

Spawns --ranks processes (gloo on 127.0.0.1 on CPU; NCCL with one GPU a rank when --device
cuda). For each wrapper (DDP, then FSDP2 with every block and the root fully_shard'ed), it
times rounds of --steps training steps, bare and under gradtui.watch(every=16), alternating
so that drift on a shared machine falls on both. A round's time is the slowest rank's. Prints
the median step time of each loop and the ratio watched / bare per wrapper.

    python benchmarks/fsdp_overhead.py                      # 2 ranks, CPU
    python benchmarks/fsdp_overhead.py --ranks 1 --device cuda
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))

from fsdp_train import VOCAB, TinyLM, batch  # noqa: E402  (examples/, as a script)

import gradtui  # noqa: E402


def wrap(kind: str, device: str) -> nn.Module:
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    torch.manual_seed(0)
    model = TinyLM(depth=4).to(device)
    if kind == "ddp":
        ids = [torch.cuda.current_device()] if device == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)
    mesh = init_device_mesh(device, (dist.get_world_size(),))
    for block in model.blocks:
        fully_shard(block, mesh=mesh)
    fully_shard(model, mesh=mesh)
    return model


def loop(model: nn.Module, opt, steps: int, device: str, monitor=None) -> float:
    rank = dist.get_rank()
    data = [tuple(t.to(device) for t in batch(s, rank, size=32)) for s in range(steps)]
    dist.barrier()
    start = time.perf_counter()
    for tokens, targets in data:
        loss = nn.functional.cross_entropy(model(tokens).reshape(-1, VOCAB), targets.reshape(-1))
        opt.zero_grad()
        loss.backward()
        if monitor is not None:
            monitor.step(loss)
        opt.step()
    if monitor is not None:
        monitor.flush()  # timed until gradtui's writer has caught up
    if device == "cuda":
        torch.cuda.synchronize()
    took = torch.tensor([time.perf_counter() - start])
    dist.all_reduce(took, op=dist.ReduceOp.MAX)
    return float(took) / steps


def measure(kind: str, args: argparse.Namespace, device: str, out: str) -> tuple[list, list]:
    model = wrap(kind, device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loop(model, opt, args.steps, device)  # warm-up
    bare, watched = [], []
    for round_ in range(args.rounds):
        bare.append(loop(model, opt, args.steps, device))
        record = f"{out}/{kind}{round_}.jsonl"
        monitor = gradtui.watch(model, opt, record=record, every=16, diagnose=False)
        watched.append(loop(model, opt, args.steps, device, monitor))
        monitor.close()
    return bare, watched


def rank_main(rank: int, args: argparse.Namespace, port: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
    cuda = args.device == "cuda"
    if cuda:
        torch.cuda.set_device(rank)
    dist.init_process_group("nccl" if cuda else "gloo", rank=rank, world_size=args.ranks)
    torch.set_num_threads(args.threads)
    rows = {kind: measure(kind, args, args.device, out) for kind in ("ddp", "fsdp2")}
    if rank == 0:
        name = torch.cuda.get_device_name() if cuda else "CPU"
        print(f"{args.ranks} rank(s) on {name}, {args.steps} steps x {args.rounds} rounds")
        print(f"{'wrapper':8} {'bare ms/step':>13} {'watched':>9} {'ratio':>7}")
        for kind, (bare, watched) in rows.items():
            b, w = statistics.median(bare), statistics.median(watched)
            print(f"{kind:8} {1e3 * b:13.2f} {1e3 * w:9.2f} {w / b:6.3f}x")
    dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per rank")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    with tempfile.TemporaryDirectory() as out:
        torch.multiprocessing.spawn(rank_main, args=(args, port, out), nprocs=args.ranks)


if __name__ == "__main__":
    main()
