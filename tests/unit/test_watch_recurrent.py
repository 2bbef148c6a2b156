"""Recurrent modules (RNN, LSTM, GRU) are watched one weight matrix at a time: the recurrent
weights are where gradients vanish or explode through time."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import gradtui
from gradtui.events import RunStarted, StepStats


class Tagger(nn.Module):
    """Embedding, a two-layer recurrent module, a head on every time step."""

    def __init__(self, cell: type[nn.RNNBase]) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.rnn = cell(8, 12, num_layers=2, batch_first=True)
        self.head = nn.Linear(12, 20)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.embed(tokens))
        return self.head(out)


@pytest.mark.parametrize("cell", [nn.RNN, nn.LSTM, nn.GRU], ids=["rnn", "lstm", "gru"])
def test_each_weight_matrix_is_a_layer_measured_exactly(cell):
    torch.manual_seed(0)
    model = Tagger(cell)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    events: list = []
    with gradtui.watch(model, opt, on_event=events.append) as monitor:
        tokens = torch.randint(0, 20, (4, 9))
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(tokens).reshape(-1, 20), tokens.reshape(-1))
        loss.backward()
        expected = {
            name: p.grad.norm().item()
            for name, p in model.rnn.named_parameters()
            if "weight" in name
        }
        monitor.step(loss)
        opt.step()
    started = next(e for e in events if isinstance(e, RunStarted))
    names = [layer.name for layer in started.layers]
    recurrent = ["weight_ih_l0", "weight_hh_l0", "weight_ih_l1", "weight_hh_l1"]
    assert names == ["embed", *(f"rnn.{w}" for w in recurrent), "head"]
    assert started.blocks == ("embed", "rnn", "head")
    gates = {nn.RNN: 1, nn.LSTM: 4, nn.GRU: 3}[cell]
    params = {layer.name: layer.params for layer in started.layers}
    assert params["rnn.weight_hh_l0"] == gates * 12 * 12
    (step,) = [e for e in events if isinstance(e, StepStats)]
    measured = dict(zip(names, step.grad_norm, strict=True))
    for weight in recurrent:
        assert measured[f"rnn.{weight}"] == pytest.approx(expected[weight], rel=1e-6)
    assert step.block_grad_norm[1] is not None and step.block_grad_norm[1] > 0
