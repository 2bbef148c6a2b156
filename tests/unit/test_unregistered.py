"""Issue 23, part B item 4: a trainable tensor the loss reaches but the model does not
register (a plain list of layers, a dict of heads, a closure's parameter) is named at step 0
by shape and by the operation that uses it; the registered twins stay silent."""

from __future__ import annotations

import torch
from torch import nn

from gradtui.probe.lint import lint_loss_graph
from tests.unit.trust_loops import (
    GRUNet,
    TinyGPT,
    adam,
    image_batch,
    regression_batch,
    seeded,
    sequence_batch,
    token_batch,
    train,
)


class ListMLP(nn.Module):
    """The hidden layers kept in a plain list: model.parameters() never sees them."""

    def __init__(self, registered: bool) -> None:
        super().__init__()
        hidden = [nn.Linear(8, 16), nn.Linear(16, 16)]
        self.hidden = nn.ModuleList(hidden) if registered else hidden
        self.out = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.out(x)


class HeadsGRU(nn.Module):
    """A GRU with its output heads in a dict; only one head is used per call."""

    def __init__(self, registered: bool) -> None:
        super().__init__()
        self.body = GRUNet()
        heads = {"a": nn.Linear(10, 10), "b": nn.Linear(10, 10)}
        self.heads = nn.ModuleDict(heads) if registered else heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads["a"](self.body(x))


def mse(out, y):
    return torch.nn.functional.mse_loss(out, y)


def test_layers_in_a_plain_list_are_named_by_shape_and_use():
    result = train(seeded(lambda: ListMLP(False), 0), regression_batch, 6, adam, loss_fn=mse)
    d = result.one("unregistered")
    assert d.step == 0 and d.severity == "warning"
    assert "tensor 16x8 used by" in d.message and "tensor 16x16 used by" in d.message
    assert "4 trainable tensor(s)" in d.message  # two weights and two biases
    assert "nn.ModuleList" in d.fix
    twin = train(seeded(lambda: ListMLP(True), 0), regression_batch, 6, adam, loss_fn=mse)
    assert "unregistered" not in twin.kinds()


def test_heads_in_a_plain_dict_on_a_recurrent_model():
    result = train(seeded(lambda: HeadsGRU(False), 0), sequence_batch, 4, adam)
    d = result.one("unregistered")
    assert "tensor 10x10 used by" in d.message and "2 trainable tensor(s)" in d.message
    assert "nn.ModuleDict" in d.fix
    twin = train(seeded(lambda: HeadsGRU(True), 0), sequence_batch, 4, adam)
    assert "unregistered" not in twin.kinds()


def test_a_closure_parameter_is_found_and_an_input_without_grad_is_not():
    model = nn.Linear(3, 2)
    scale = torch.ones(2, requires_grad=True)  # made in the user's script, not on the model
    x = torch.randn(5, 3)
    issues = lint_loss_graph((model(x) * scale).sum(), model.named_parameters())
    stray = [i for i in issues if i.kind == "unregistered"]
    assert len(stray) == 1 and stray[0].params == ("tensor 2 used by Mul",)
    assert lint_loss_graph(model(x).sum(), model.named_parameters()) == ()


class ListMoE(nn.Module):
    """A mixture of experts whose experts sit in a plain list; each step routes the whole
    batch to one expert, so the others are reached on some steps only."""

    def __init__(self, registered: bool) -> None:
        super().__init__()
        experts = [nn.Linear(8, 4) for _ in range(3)]
        self.experts = nn.ModuleList(experts) if registered else experts
        self.router = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.router(x), dim=1)
        pick = int(weights.mean(0).argmax())
        return self.experts[pick](x) * weights[:, pick : pick + 1]


def test_experts_in_a_plain_list_are_named_even_though_only_one_is_used():
    result = train(seeded(lambda: ListMoE(False), 0), regression_batch, 6, adam, loss_fn=mse)
    d = result.one("unregistered")
    assert "2 trainable tensor(s)" in d.message  # the one expert used at step 0
    assert "tensor 4x8 used by" in d.message and "tensor 4 used by" in d.message
    twin = train(seeded(lambda: ListMoE(True), 0), regression_batch, 6, adam, loss_fn=mse)
    assert "unregistered" not in twin.kinds()


class GPTWithPlainBias(nn.Module):
    """A tiny transformer plus a learned output bias made as a plain tensor attribute."""

    def __init__(self, registered: bool) -> None:
        super().__init__()
        self.gpt = TinyGPT()
        bias = torch.zeros(16, requires_grad=True)
        self.bias = nn.Parameter(bias) if registered else bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gpt(x) + self.bias


def lm_loss(out, y):
    return torch.nn.functional.cross_entropy(out.flatten(0, 1), y.flatten())


def test_a_plain_tensor_attribute_of_a_transformer_is_named():
    result = train(seeded(lambda: GPTWithPlainBias(False), 0), token_batch, 3, adam, lm_loss)
    d = result.one("unregistered")
    assert d.message.endswith("tensor 16 used by Add.") and "1 trainable tensor(s)" in d.message
    twin = train(seeded(lambda: GPTWithPlainBias(True), 0), token_batch, 3, adam, lm_loss)
    assert "unregistered" not in twin.kinds()


class ListCNN(nn.Module):
    """Convolutions in a plain list, a registered classifier after them."""

    def __init__(self, registered: bool) -> None:
        super().__init__()
        convs = [nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)]
        self.convs = nn.ModuleList(convs) if registered else convs
        self.head = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = torch.relu(conv(x))
        return self.head(x.mean((2, 3)))


def test_convolutions_in_a_plain_list_are_named():
    result = train(seeded(lambda: ListCNN(False), 0), image_batch, 3, adam)
    d = result.one("unregistered")
    assert "tensor 4x1x3x3 used by Convolution" in d.message and "tensor 4x4x3x3" in d.message
    twin = train(seeded(lambda: ListCNN(True), 0), image_batch, 3, adam)
    assert "unregistered" not in twin.kinds()
