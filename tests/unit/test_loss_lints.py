"""Issue 23, part B item 1 (the floor): a cross-entropy loss that falls below 0 names targets
outside the loss's domain, quoting the value; the twin with targets in range stays quiet."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from tests.unit.trust_loops import adam, regression_batch, seeded, train


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))


def signs(step: int):
    x, y = regression_batch(step)
    return x, torch.sign(y[:, :1])  # labels in {-1, 1}: a common leftover from SVM code


def test_bce_with_minus_one_labels_names_the_targets():
    def bce(out, y):
        return F.binary_cross_entropy_with_logits(out, y * 3)  # targets in {-3, 3}

    result = train(seeded(mlp, 0), signs, 30, adam, loss_fn=bce)
    d = result.one("loss_below_floor")
    assert d.severity == "error" and d.step > 0  # the loss starts at log 2, then falls below 0
    assert "binary_cross_entropy_with_logits is -" in d.message and "[0, 1]" in d.fix

    def fixed(out, y):
        return F.binary_cross_entropy_with_logits(out, (y + 1) / 2)

    assert "loss_below_floor" not in train(seeded(mlp, 0), signs, 30, adam, loss_fn=fixed).kinds()
