"""Spike forensics: a step far outside its band that training recovers from is a note naming the
step and the first layer; one that starts a divergence is named in the divergence's finding;
healthy runs of every family stay quiet."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from gradtui.diagnosis import thresholds as T
from gradtui.diagnosis.spikes import Band
from tests.unit.trust_loops import (
    GRUNet,
    TinyGPT,
    deep_relu_mlp,
    image_batch,
    regression_batch,
    seeded,
    sequence_batch,
    token_batch,
    train,
)

pytestmark = pytest.mark.slow  # trains small models


def plain_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8 * 8 * 8, 4),
    )


def scaled_at(batch, steps, scale=1e3):
    """Inputs multiplied by ``scale`` at ``steps``: an outlier batch."""

    def make(step):
        x, y = batch(step)
        return (x * scale, y) if step in steps else (x, y)

    return make


def corrupted_at(batch, steps, scale=30.0, classes=4):
    """Bright inputs with the wrong labels at ``steps``: a corrupted batch."""

    def make(step):
        x, y = batch(step)
        return (x * scale, (y + 1) % classes) if step in steps else (x, y)

    return make


def adam(lr):
    return lambda model: torch.optim.Adam(model.parameters(), lr=lr)


def spikes(result):
    return [d for d in result.diagnoses if d.kind == "gradient_spike"]


def assert_recovered_at(result, step):
    (spike,) = spikes(result)
    assert spike.severity == "info" and spike.step == step
    assert f"At step {step} the total gradient norm jumped" in spike.message
    assert "Training recovered" in spike.message and "first layer out of its band" in spike.message
    assert f"batch of step {step}" in spike.fix
    assert spike.layers  # the layers that jumped most
    # the recovered spike is not also an explosion
    assert not [d for d in result.diagnoses if d.kind == "exploding_gradients"]


@pytest.mark.parametrize("seed", [0, 1])
def test_an_outlier_batch_in_an_mlp_is_a_recovered_spike(seed):
    model = seeded(deep_relu_mlp, seed)
    result = train(model, scaled_at(regression_batch, {40}), 80, adam(1e-3), loss_fn=F.mse_loss)
    assert_recovered_at(result, 40)
    twin = train(seeded(deep_relu_mlp, seed), regression_batch, 80, adam(1e-3), F.mse_loss)
    assert spikes(twin) == []
    assert {k for k, _, _ in result.above_info()} == {k for k, _, _ in twin.above_info()}


@pytest.mark.parametrize("seed", [0, 1])
def test_a_corrupted_batch_in_a_cnn_is_a_recovered_spike_naming_the_layer(seed):
    result = train(seeded(plain_cnn, seed), corrupted_at(image_batch, {40}), 80, adam(1e-3))
    assert_recovered_at(result, 40)
    assert result.above_info() == []
    (spike,) = spikes(result)
    assert "The gradient and the loss spiked on the same step" in spike.message
    twin = train(seeded(plain_cnn, seed), image_batch, 80, adam(1e-3))
    assert twin.diagnoses == []


def test_repeated_spikes_are_one_note_that_points_at_the_learning_rate():
    batches = corrupted_at(image_batch, {40, 70, 100})
    result = train(seeded(plain_cnn, 0), batches, 130, adam(1e-3))
    (spike,) = spikes(result)
    assert spike.message.startswith("3 spikes so far, each recovered (steps 40, 70, 100)")
    assert "lower learning rate" in spike.fix


@pytest.mark.parametrize("seed", [0, 1])
def test_a_spike_that_starts_a_divergence_is_named_in_the_divergence(seed):
    model = seeded(deep_relu_mlp, seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def batch(step):  # a schedule that jumps to a far too high rate at step 40
        if step == 40:
            for group in opt.param_groups:
                group["lr"] = 1.0
        return regression_batch(step)

    result = train(model, batch, 80, None, loss_fn=F.mse_loss, optimizer=opt)
    first = result.diagnoses[0]
    assert (first.kind, first.severity) == ("divergence", "error")
    assert "It began as a spike that did not recover: at step 41" in first.message
    assert "The first layer out of its band was" in first.message
    assert spikes(result) == []


@pytest.mark.parametrize(
    ("make", "batch", "loss_fn", "lr"),
    [
        (GRUNet, sequence_batch, None, 3e-3),
        (TinyGPT, token_batch, None, 1e-3),
        (deep_relu_mlp, regression_batch, F.mse_loss, 1e-3),
    ],
)
def test_healthy_runs_have_no_spike(make, batch, loss_fn, lr):
    kwargs = {"loss_fn": loss_fn} if loss_fn else {}
    result = train(seeded(make, 0), batch, 120, adam(lr), **kwargs)
    assert spikes(result) == []


# -- the band --------------------------------------------------------------------------------
def test_a_band_judges_nothing_before_its_history():
    band = Band(T.SPIKE_RATIO)
    for _ in range(T.SPIKE_MIN_HISTORY - 1):
        band.add(1.0)
    assert band.excess(1e6) is None
    band.add(1.0)
    assert band.excess(1e6) == pytest.approx(1e6)
    assert band.excess(5.0) is None  # under SPIKE_RATIO times the median


def test_a_band_ignores_non_finite_values():
    band = Band(T.SPIKE_RATIO)
    for i in range(T.SPIKE_WINDOW):
        band.add(1.0 + (i % 3) * 0.1)
        band.add(math.nan)
        band.add(None)
    assert band.ready and band.median == pytest.approx(1.1)
    assert band.excess(math.nan) is None and band.excess(math.inf) is not None


@given(
    st.lists(st.floats(min_value=0, max_value=1e300), min_size=T.SPIKE_MIN_HISTORY),
    st.floats(allow_nan=True, allow_infinity=True),
)
def test_a_band_reports_only_values_past_its_ratio(history, value):
    band = Band(T.SPIKE_RATIO)
    for v in history:
        band.add(v)
    excess = band.excess(value)
    if excess is not None:
        assert excess >= T.SPIKE_RATIO and value > 0
