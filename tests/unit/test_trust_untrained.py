"""Issue 10, class 3: layers with requires_grad=False are listed, in forward order, with
status 'untrained' and one info finding; every other layer reads as before."""

from __future__ import annotations

import torch

from gradtui.events import StepStats
from tests.unit.trust_loops import SmallCNN, TinyGPT, image_batch, seeded, token_batch, train


def sgd(model):
    trainable = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(trainable, lr=0.1, momentum=0.9)


def test_a_frozen_backbone_is_listed_as_untrained():
    model = seeded(SmallCNN, 0)
    for module in (model.stem, model.conv1, model.bn1):
        module.requires_grad_(False)
    result = train(model, image_batch, 30, sgd)
    assert result.started is not None
    names = [layer.name for layer in result.started.layers]
    assert names == ["stem.0", "stem.1", "conv1", "bn1", "conv2", "bn2", "head"]  # forward order
    assert [layer.params for layer in result.started.layers][:4] == [0, 0, 0, 0]
    assert result.status[:4] == ("untrained",) * 4
    assert set(result.status[4:]) == {"ok"}
    d = result.one("untrained_layers")
    assert d.severity == "info" and d.layers == ("stem.0", "stem.1", "conv1", "bn1")
    assert "requires_grad" in d.message and "requires_grad_(True)" in d.fix
    assert result.above_info() == []
    step = result.steps[-1]
    assert isinstance(step, StepStats) and step.grad_norm[:4] == (None,) * 4
    assert step.update_ratio[:4] == (0.0,) * 4 and all(w > 0 for w in step.weight_norm)


def test_a_frozen_embedding_in_a_transformer():
    model = seeded(TinyGPT, 1)
    model.tok.requires_grad_(False)
    adamw = lambda m: torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-3)  # noqa: E731
    result = train(model, token_batch, 20, adamw)
    assert result.status_of("tok") == "untrained"
    assert result.one("untrained_layers").layers == ("tok",)
    assert result.above_info() == []


def test_nothing_frozen_nothing_said():
    result = train(seeded(SmallCNN, 0), image_batch, 20, sgd)
    assert "untrained_layers" not in result.kinds()
    assert "untrained" not in result.status
