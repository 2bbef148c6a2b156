"""A plain training loop on a small MLP, watched by gradtui. Runs in seconds on a CPU.

python examples/plain_mlp.py                      # train, print gradtui's findings
gradtui attach runs/plain_mlp.jsonl               # in another terminal, while it runs
gradtui report runs/plain_mlp.jsonl --fail-on error
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

import gradtui


def spirals(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaved spirals: a small task an MLP needs a few layers for."""
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(n, generator=g) * 3 * torch.pi
    label = torch.randint(0, 2, (n,), generator=g)
    sign = label * 2 - 1
    x = torch.stack([t * torch.cos(t) * sign, t * torch.sin(t) * sign], dim=1) / 10
    return x + 0.02 * torch.randn(n, 2, generator=g), label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--record", default="runs/plain_mlp.jsonl")
    parser.add_argument("--every", type=int, default=16, help="steps between heavy statistics")
    parser.add_argument("--sleep", type=float, default=0.0, help="seconds per step (demo)")
    parser.add_argument("--lr", type=float, default=3e-3)
    args = parser.parse_args()

    torch.manual_seed(0)
    x, y = spirals(2048)
    model = nn.Sequential(
        nn.Linear(2, 64), nn.ReLU(),
        nn.Linear(64, 64), nn.ReLU(),
        nn.Linear(64, 64), nn.ReLU(),
        nn.Linear(64, 2),
    )  # fmt: skip
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)

    monitor = gradtui.watch(model, opt, record=args.record, every=args.every)
    for _step in range(args.steps):
        batch = torch.randint(0, len(x), (128,))
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
        loss.backward()
        monitor.step(loss)  # after backward, before the optimizer changes the weights
        opt.step()
        time.sleep(args.sleep)
    monitor.close()

    accuracy = (model(x).argmax(1) == y).float().mean().item()
    print(f"final loss {loss.item():.4f}, accuracy {accuracy:.1%}; recorded {args.record}")
    for finding in monitor.diagnoses():
        print(f"[{finding.severity}] {finding.kind}: {finding.message}")


if __name__ == "__main__":
    main()
