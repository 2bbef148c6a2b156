"""Data-parallel training (DDP) watched by gradtui: each rank records its own stream.

    python -m torch.distributed.run --standalone --nproc_per_node=2 examples/ddp_train.py
    gradtui report runs/ddp.jsonl          # both ranks: rank 0's report and the spread
    gradtui attach runs/ddp.jsonl          # while it runs: the ranks side by side

Runs on CPU with the gloo backend (NCCL on GPUs). ``--break-rank 1`` makes rank 1 add noise to
its gradients after the all-reduce, the kind of per-rank edit that makes replicas drift apart:
gradtui reports it as ``rank_divergence``.
"""

from __future__ import annotations

import argparse
import gc
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

import gradtui


def shard(rank: int, n: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Each rank's own data: a noisy linear rule, different samples per rank."""
    g = torch.Generator().manual_seed(1000 + rank)
    x = torch.randn(n, 16, generator=g)
    y = (x[:, :8].sum(1) > x[:, 8:].sum(1)).long()
    return x, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--record", default="runs/ddp.jsonl")
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--break-rank", type=int, default=-1, help="this rank edits its grads")
    args = parser.parse_args()

    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    train(args, backend)
    # torch's gloo backend can abort the interpreter at exit while a DDP reducer (kept alive by
    # reference cycles) still holds the process group: free it first, then close together.
    gc.collect()
    dist.barrier()
    dist.destroy_process_group()


def train(args: argparse.Namespace, backend: str) -> None:
    rank = dist.get_rank()
    device = torch.device(f"cuda:{int(os.environ['LOCAL_RANK'])}" if backend == "nccl" else "cpu")
    torch.manual_seed(0)  # the same initial weights everywhere (DDP also broadcasts rank 0's)
    net = nn.Sequential(
        nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2)
    )
    model = DistributedDataParallel(net.to(device))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = (t.to(device) for t in shard(rank))

    # Inside DDP: pass the wrapper or the module; each rank writes runs/ddp.rank<N>.jsonl.
    with gradtui.watch(model, opt, record=args.record, every=args.every) as monitor:
        for _step in range(args.steps):
            batch = torch.randint(0, len(x), (64,), device=device)
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()  # DDP averages the gradients across ranks here
            if rank == args.break_rank:
                for p in model.parameters():
                    p.grad += 1e-2 * torch.randn_like(p.grad)
            monitor.step(loss)
            opt.step()
    print(f"rank {rank}: final loss {loss.item():.4f}", flush=True)


if __name__ == "__main__":
    main()
