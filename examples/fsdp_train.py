"""A small transformer sharded with FSDP2 (``fully_shard``) and watched by gradtui.

    python -m torch.distributed.run --standalone --nproc_per_node=2 examples/fsdp_train.py
    python -m torch.distributed.run --standalone --nproc_per_node=4 examples/fsdp_train.py \
        --hybrid                               # 2 x 2 mesh: replicate across, shard within
    gradtui report runs/fsdp.jsonl             # every rank's file, one report
    gradtui attach runs/fsdp.rank0.jsonl       # while it runs

Each block is sharded, then the root. The per-layer norms gradtui records are the whole
gradients' (exact, one small collective a step), not a shard's. ``--nan-rank 1`` turns rank
1's logits to NaN at step 5: every rank learns the step is non-finite from ``monitor.finite``,
skips its optimizer step, and the report names rank 1.
Runs on CPU with gloo (NCCL on GPUs). See docs/sharding.md.
"""

from __future__ import annotations

import argparse
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard

import gradtui

WIDTH, TOKENS, VOCAB = 32, 8, 16


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(WIDTH)
        self.attn = nn.MultiheadAttention(WIDTH, 4, batch_first=True)
        self.norm2 = nn.LayerNorm(WIDTH)
        wide = 4 * WIDTH
        self.mlp = nn.Sequential(nn.Linear(WIDTH, wide), nn.GELU(), nn.Linear(wide, WIDTH))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class TinyLM(nn.Module):
    """Predicts each token's successor in a cyclic sequence: learnable in a few dozen steps."""

    def __init__(self, depth: int = 3) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, WIDTH)
        self.blocks = nn.ModuleList(Block() for _ in range(depth))
        self.head = nn.Linear(WIDTH, VOCAB)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def batch(step: int, rank: int, size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(10_000 * rank + step)
    start = torch.randint(0, VOCAB, (size, 1), generator=g)
    tokens = (start + torch.arange(TOKENS + 1)) % VOCAB
    return tokens[:, :-1], tokens[:, 1:]


def shard(model: TinyLM, hybrid: bool, device: str) -> None:
    world = dist.get_world_size()
    if hybrid:
        mesh = init_device_mesh(device, (2, world // 2), mesh_dim_names=("replicate", "shard"))
    else:
        mesh = init_device_mesh(device, (world,), mesh_dim_names=("shard",))
    for block in model.blocks:
        fully_shard(block, mesh=mesh)
    fully_shard(model, mesh=mesh)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--record", default="runs/fsdp.jsonl")
    parser.add_argument("--every", type=int, default=8)
    parser.add_argument("--hybrid", action="store_true", help="a 2 x N/2 mesh (4+ ranks)")
    parser.add_argument("--nan-rank", type=int, default=-1, help="a NaN in this rank's batch")
    args = parser.parse_args()

    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank = dist.get_rank()
    device = "cuda" if cuda else "cpu"
    if cuda:
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    torch.manual_seed(0)  # the same initial weights on every rank
    model = TinyLM().to(device)
    shard(model, args.hybrid, device)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    skipped = []
    # Each rank writes runs/fsdp.rank<N>.jsonl.
    with gradtui.watch(model, opt, record=args.record, every=args.every) as monitor:
        for step in range(args.steps):
            tokens, targets = (t.to(device) for t in batch(step, rank))
            logits = model(tokens)
            if step == 5 and rank == args.nan_rank:
                logits = logits * float("nan")
            loss = nn.functional.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))
            opt.zero_grad()
            loss.backward()
            monitor.step(loss)
            if not monitor.finite:  # the same verdict on every rank: skip it together
                skipped.append(step)
                continue
            opt.step()
    print(f"rank {rank}: final loss {loss.item():.4f}, skipped steps {skipped}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
