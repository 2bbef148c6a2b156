"""A small CNN (convolutions, BatchNorm, pooling) on synthetic images, watched by gradtui.

The images are 12x12 noise with a bright vertical or horizontal bar; the network says which.

    python examples/cnn.py && gradtui report runs/cnn.jsonl
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

import gradtui


def bars(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    images = 0.3 * torch.randn(n, 1, 12, 12, generator=g)
    label = torch.randint(0, 2, (n,), generator=g)
    where = torch.randint(0, 12, (n,), generator=g)
    for i in range(n):
        if label[i]:
            images[i, 0, :, where[i]] += 1.0
        else:
            images[i, 0, where[i], :] += 1.0
    return images, label


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )  # fmt: skip
        self.classifier = nn.Linear(16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--record", default="runs/cnn.jsonl")
    parser.add_argument("--every", type=int, default=16)
    args = parser.parse_args()

    torch.manual_seed(0)
    x, y = bars(1024)
    model = SmallCNN()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    with gradtui.watch(model, opt, record=args.record, every=args.every) as monitor:
        for _step in range(args.steps):
            batch = torch.randint(0, len(x), (64,))
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            monitor.step(loss)
            opt.step()

    model.eval()
    accuracy = (model(x).argmax(1) == y).float().mean().item()
    print(f"final loss {loss.item():.4f}, accuracy {accuracy:.1%}; recorded {args.record}")


if __name__ == "__main__":
    main()
