"""Issue 10, class 1: one catastrophic step, or a loss that ends far above its start, is a
divergence error dated to the step, listed first; what follows says it is a consequence."""

from __future__ import annotations

import pytest
import torch

from tests.unit.trust_loops import GRUNet, TinyGPT, seeded, sequence_batch, token_batch, train


def sgd(lr: float):
    return lambda model: torch.optim.SGD(model.parameters(), lr=lr)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_recurrent_net_at_a_far_too_high_learning_rate_diverges(seed):
    result = train(seeded(GRUNet, seed), sequence_batch, 60, sgd(30.0))
    first = result.diagnoses[0]
    assert (first.kind, first.severity) == ("divergence", "error")
    assert first.step <= 3 and f"At step {first.step} one update moved" in first.message
    assert "rnn.weight_ih_l0" in first.layers
    assert "clip_grad_norm_" in first.fix and "learning rate" in first.fix
    # the collapse that follows is not told as a cause of its own (it used to be vanishing)
    for later in result.diagnoses[1:]:
        assert later.severity == "info" and later.message.startswith("A consequence")
    assert "loss was" in first.message  # the loss stayed far above its start


@pytest.mark.parametrize("seed", [0, 1])
def test_the_recurrent_net_clipped_at_a_sane_learning_rate_is_quiet(seed):
    result = train(seeded(GRUNet, seed), sequence_batch, 60, sgd(1.0), clip=1.0)
    assert result.above_info() == []
    assert result.losses[-1] < result.losses[0]


@pytest.mark.parametrize("seed", [0, 1])
def test_a_small_gpt_at_lr_10_diverges_at_its_first_step(seed):
    adamw = lambda model: torch.optim.AdamW(model.parameters(), lr=10.0)  # noqa: E731
    result = train(seeded(TinyGPT, seed), token_batch, 25, adamw)
    first = result.diagnoses[0]
    assert (first.kind, first.severity, first.step) == ("divergence", "error", 0)
    assert "head" in first.layers


def test_a_recorded_divergence_found_late_marks_earlier_collapses_as_its_consequences():
    from tests.unit.diagnosis_fakes import chain, feed, healthy, started

    run = started(depth=6)
    steps = [healthy(run, s, loss=1.0) for s in range(3)]
    # step 3's update is twice the weights; then the chain collapses (vanishing fires) and the
    # loss climbs to 50x its start, where it stays
    steps.append(healthy(run, 3, loss=1.0, update_ratio=(2.0,) + (1e-3,) * 6))
    steps += [healthy(run, s, loss=50.0, block_grad_norm=chain(run, 0.1)) for s in range(4, 40)]
    diagnoser, _ = feed([run, *steps])
    found = diagnoser.diagnoses()
    assert (found[0].kind, found[0].severity, found[0].step) == ("divergence", "error", 3)
    vanishing = [d for d in found if d.kind == "vanishing_gradients"]
    assert vanishing and vanishing[0].severity == "info"
    assert vanishing[0].message.startswith("A consequence of the divergence at step 3")
