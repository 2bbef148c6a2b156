"""An LSTM learning to recall the token it saw a few steps earlier, watched by gradtui.

Each weight matrix of the LSTM is a layer of its own (``rnn.weight_hh_l0`` is the recurrent
one, through which the gradient travels back in time), the LSTM's output is a link of the
chain, and the gradient norm is clipped through the monitor, as recurrent models usually are.

    python examples/lstm_copy.py && gradtui report runs/lstm_copy.jsonl
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

import gradtui

VOCAB, LENGTH, DELAY = 10, 16, 3


class Recall(nn.Module):
    def __init__(self, dim: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, dim)
        self.rnn = nn.LSTM(dim, dim, num_layers=2, batch_first=True)
        self.head = nn.Linear(dim, VOCAB)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out, _state = self.rnn(self.embed(tokens))
        return self.head(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--record", default="runs/lstm_copy.jsonl")
    parser.add_argument("--every", type=int, default=16)
    args = parser.parse_args()

    torch.manual_seed(0)
    model = Recall()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)

    with gradtui.watch(model, opt, record=args.record, every=args.every) as monitor:
        for _step in range(args.steps):
            tokens = torch.randint(0, VOCAB, (32, LENGTH))
            target = tokens.roll(DELAY, dims=1)  # the token DELAY steps back
            logits = model(tokens)[:, DELAY:]  # the first DELAY steps have nothing to recall
            loss = nn.functional.cross_entropy(
                logits.reshape(-1, VOCAB), target[:, DELAY:].reshape(-1)
            )
            opt.zero_grad()
            loss.backward()
            monitor.step(loss)
            monitor.clip_grad_norm_(1.0)
            opt.step()
    print(f"final loss {loss.item():.4f}; recorded {args.record}")


if __name__ == "__main__":
    main()
