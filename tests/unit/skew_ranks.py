"""Data-parallel ranks (DDP, gloo on 127.0.0.1) watched by gradtui, with one way of setting a
rank apart that users hit. Run as a script:

    python skew_ranks.py WORLD PORT OUT_DIR MODEL BUG

MODEL: mlp, cnn or gru. BUGS, comma-separated: none; slow:R (rank R takes 40 ms more to load
each batch); same (every rank reads the same batches: no DistributedSampler); labels:R (rank
R's shard has its labels mapped differently). Each rank records OUT_DIR/run.rankN.jsonl.
"""

from __future__ import annotations

import os
import sys
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

import gradtui

STEPS = 32
BATCH = 32
CLASSES = 4


def build(kind: str) -> nn.Module:
    torch.manual_seed(0)
    if kind == "cnn":
        return nn.Sequential(
            nn.Unflatten(1, (1, 8, 8)),
            nn.Conv2d(1, 8, 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(8 * 64, CLASSES),
        )
    if kind == "gru":
        return GruClassifier()
    return nn.Sequential(
        nn.Linear(64, 48), nn.Tanh(), nn.Linear(48, 48), nn.Tanh(), nn.Linear(48, 4)
    )


class GruClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.GRU(8, 24, batch_first=True)
        self.head = nn.Linear(24, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x.view(x.shape[0], 8, 8))
        return self.head(out[:, -1])


def dataset(seed: int, n: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """One learnable rule for every rank; each rank draws its own samples of it."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 64, generator=g)
    y = (x[:, :16].sum(1) > 0).long() + 2 * (x[:, 16:32].sum(1) > 0).long()
    return x, y


def batches(rank: int, bugs: set[str]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    same = "same" in bugs
    x, y = dataset(0 if same else 100 + rank)
    if f"labels:{rank}" in bugs:  # a shard whose label ids mean other classes
        y = (y + 1) % CLASSES
    g = torch.Generator().manual_seed(7 if same else 7 + rank)
    picks = [torch.randint(0, len(x), (BATCH,), generator=g) for _ in range(STEPS)]
    return [(x[i], y[i]) for i in picks]


def _rank(rank: int, world: int, port: str, out: str, kind: str, bugs: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    model = DistributedDataParallel(build(kind))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    found = set(bugs.split(","))
    slow = f"slow:{rank}" in found
    with gradtui.watch(model, opt, record=f"{out}/run.jsonl", every=8) as monitor:
        for x, y in batches(rank, found):
            if slow:
                time.sleep(0.04)  # its loader is behind: the others wait at the all-reduce
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            monitor.step(loss)
            opt.step()
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    world, port, out, kind, bugs = sys.argv[1:6]
    torch.multiprocessing.spawn(_rank, args=(int(world), port, out, kind, bugs), nprocs=int(world))
