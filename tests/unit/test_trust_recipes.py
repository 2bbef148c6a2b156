"""Issue 10, class 6: published recipes, set up as their papers and notes do, raise nothing at
all, not even an update-ratio note; a learning rate far too low still gets one."""

from __future__ import annotations

import pytest
import torch

from tests.unit.trust_loops import (
    CharMLP,
    SmallCNN,
    TinyGPT,
    char_batch,
    image_batch,
    seeded,
    token_batch,
    train,
)


def resnet_sgd(model):
    """He et al. 2016: SGD, lr 0.1, momentum 0.9, weight decay 1e-4, batch norm."""
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_resnet_with_batch_norm_at_its_papers_learning_rate(seed):
    result = train(seeded(SmallCNN, seed), image_batch, 80, resnet_sgd)
    assert result.diagnoses == []
    assert result.losses[-1] < 0.2 * result.losses[0]
    assert set(result.status) == {"ok"}


@pytest.mark.parametrize(("lr", "seed"), [(1e-3, 0), (1e-3, 1), (3e-4, 2)])
def test_a_small_gpt_with_adamw(lr, seed):
    adamw = lambda model: torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.1)  # noqa: E731
    result = train(seeded(TinyGPT, seed), token_batch, 100, adamw)
    assert result.diagnoses == []
    assert result.losses[-1] < 0.7 * result.losses[0]


@pytest.mark.parametrize("seed", [0, 1])
def test_a_character_mlp_with_scaled_init(seed):
    sgd = lambda model: torch.optim.SGD(model.parameters(), lr=0.1)  # noqa: E731
    result = train(seeded(CharMLP, seed), char_batch, 150, sgd)
    assert result.diagnoses == []
    assert result.losses[-1] < 0.7 * result.losses[0]


def test_a_learning_rate_far_too_low_still_gets_the_note_and_only_that_side():
    sgd = lambda model: torch.optim.SGD(model.parameters(), lr=1e-4)  # noqa: E731
    result = train(seeded(CharMLP, 0), char_batch, 60, sgd)
    notes = [d for d in result.diagnoses if d.kind == "update_ratio"]
    assert len(notes) == 1 and notes[0].severity == "info"
    assert "learning rate is too low" in notes[0].message and "Raise" in notes[0].fix
