"""Clipping saturated: a max_norm far below the gradient's norm cuts every step, so the clip sets
the step size; a clip that only catches the rare large step is quiet."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tests.unit.trust_loops import (
    GRUNet,
    SmallCNN,
    deep_relu_mlp,
    image_batch,
    regression_batch,
    seeded,
    sequence_batch,
    train,
)

pytestmark = pytest.mark.slow  # trains small models


def sgd(lr):
    return lambda model: torch.optim.SGD(model.parameters(), lr=lr)


def saturated(result):
    return [d for d in result.diagnoses if d.kind == "clipping_saturated"]


@pytest.mark.parametrize("seed", [0, 1])
def test_a_clip_far_below_the_norm_is_saturated(seed):
    result = train(seeded(deep_relu_mlp, seed), regression_batch, 80, sgd(0.5), F.mse_loss, 0.01)
    (finding,) = saturated(result)
    assert finding.step == 20
    assert "of the last 50 steps" in finding.message and "max_norm of 0.01" in finding.message
    assert "Lower the learning rate" in finding.fix and "raise max_norm" in finding.fix
    twin = train(seeded(deep_relu_mlp, seed), regression_batch, 80, sgd(0.05), F.mse_loss, 10.0)
    assert saturated(twin) == []


def test_a_cnn_clipped_on_every_step_is_saturated_and_its_sane_clip_is_quiet():
    result = train(seeded(SmallCNN, 0), image_batch, 70, sgd(1.0), clip=0.05)
    assert len(saturated(result)) == 1
    assert saturated(train(seeded(SmallCNN, 0), image_batch, 70, sgd(0.05), clip=5.0)) == []


def test_a_recurrent_net_clipped_at_a_sane_rate_is_quiet():
    result = train(seeded(GRUNet, 0), sequence_batch, 80, sgd(1.0), clip=1.0)
    assert saturated(result) == []
