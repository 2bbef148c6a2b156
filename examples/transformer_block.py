"""One pre-norm transformer block learning to reverse short sequences, watched by gradtui.

Embedding, attention (nn.MultiheadAttention), an MLP, LayerNorms and dropout: gradtui finds
the attention's packed projections too, and names every layer as named_modules() does.
It also shows ``monitor.backward(loss)``: should backward raise (an in-place change of a
tensor autograd saved, say), the error is recorded with the forward line behind it.

    python examples/transformer_block.py && gradtui report runs/transformer_block.jsonl
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

import gradtui

VOCAB, LENGTH = 12, 8


class Block(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=0.1, batch_first=True)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class Reverser(nn.Module):
    def __init__(self, dim: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, dim)
        self.position = nn.Parameter(0.02 * torch.randn(LENGTH, dim))
        self.block = Block(dim, heads)
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, VOCAB)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.ln(self.block(self.embed(tokens) + self.position)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--record", default="runs/transformer_block.jsonl")
    parser.add_argument("--every", type=int, default=16)
    args = parser.parse_args()

    torch.manual_seed(0)
    model = Reverser()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)

    with gradtui.watch(model, opt, record=args.record, every=args.every) as monitor:
        for _step in range(args.steps):
            tokens = torch.randint(0, VOCAB, (64, LENGTH))
            logits = model(tokens)
            loss = nn.functional.cross_entropy(
                logits.reshape(-1, VOCAB), tokens.flip(1).reshape(-1)
            )
            opt.zero_grad()
            monitor.backward(loss)  # loss.backward(), with a failure recorded if it raises
            monitor.step(loss)  # before clipping: it sees the gradients backward made
            monitor.clip_grad_norm_(1.0)  # torch's clipping, reusing that norm, and recorded
            opt.step()
    print(f"final loss {loss.item():.4f}; recorded {args.record}")


if __name__ == "__main__":
    main()
