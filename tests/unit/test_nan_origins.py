"""Where a NaN came from, on models that go NaN the way users' do (issue 23; MLP, CNN, GRU,
transformer, a routed mixture of experts): each buggy loop gets the right origin, layer,
cause and fix, read from its recording; each fixed twin is quiet; and only a NaN after
large gradients is told to lower the learning rate."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.unit.nan_loops import (
    ConvNet,
    Outcome,
    PaddedEncoder,
    PairwiseNet,
    RoutedMixture,
    Tagger,
    cross_entropy,
    image_batch,
    log_of_softmax,
    mlp,
    mse,
    padded_batch,
    recorded,
    sequence_batch,
    small_regression,
    table_batch,
)

LR_ADVICE = "lower the learning rate"


def _adam(model: torch.nn.Module, **kw) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.parameters(), lr=1e-3, **kw)


def _assert_quiet(outcome: Outcome) -> None:
    assert outcome.nonfinite() is None, outcome.nonfinite()
    assert all(s.nonfinite_origin is None for s in outcome.steps)


def _found(outcome: Outcome, stage_words: str) -> dict:
    d = outcome.nonfinite()
    assert d is not None, [f["kind"] for f in outcome.findings]
    assert d["severity"] == "error" and stage_words in d["message"], d["message"]
    assert d["evidence"], "every finding quotes its evidence"
    return d


def _no_lr_advice(d: dict, out: Outcome | None = None) -> None:
    """Neither this finding nor (given ``out``) any other of the run says to lower the
    learning rate."""
    assert LR_ADVICE not in (d["why"] + d["fix"]).lower(), d["fix"]
    if out is not None:
        assert not out.says(LR_ADVICE), [f["kind"] for f in out.findings]


# -- the input batch ----------------------------------------------------------------------------
def test_mlp_nan_in_a_table_column_is_the_data_not_the_learning_rate(tmp_path: Path):
    model = mlp()
    out = recorded(tmp_path, "gap", model, _adam(model), table_batch(3), mse, 6)
    d = _found(out, "the first non-finite value came with the data")
    assert d["step"] == 3 and d["layers"] == []
    assert "2 NaN of its 384 entries (columns 2)" in d["message"]
    assert "loader" in d["fix"] and "isnan" in d["fix"]
    _no_lr_advice(d, out)
    stage = d["evidence"][0]
    assert stage["rules_in"] == ["input batch"] and "optimizer update" in stage["rules_out"]


def test_mlp_with_the_gap_filled_is_quiet(tmp_path: Path):
    model = mlp()
    _assert_quiet(recorded(tmp_path, "filled", model, _adam(model), table_batch(None), mse, 6))


@pytest.mark.slow
def test_cnn_image_decoded_as_nan_is_the_data(tmp_path: Path):
    model = ConvNet()
    out = recorded(
        tmp_path, "img", model, _adam(model), image_batch(corrupt_at=2), cross_entropy, 4
    )
    d = _found(out, "The input already held 64 NaN of its 1024 entries")
    assert d["step"] == 2 and d["layers"] == [] and "loader" in d["fix"]
    _no_lr_advice(d, out)


# -- the optimizer's update -------------------------------------------------------------------
def test_float16_mlp_under_adam_is_eps_rounding_to_zero(tmp_path: Path):
    model = mlp(dtype=torch.float16)
    out = recorded(tmp_path, "half", model, _adam(model), small_regression(torch.float16), mse, 4)
    d = _found(out, "the optimizer's update at step 0 wrote them")
    assert d["step"] == 1 and d["layers"] == ["0", "2", "4"]
    assert "gradients that were finite and small" in d["message"]
    assert "eps is 1.0e-08, which float16 rounds to 0" in d["message"]
    assert "raise eps" in d["fix"] and "bfloat16" in d["fix"] and "GradScaler" in d["fix"]
    _no_lr_advice(d, out)
    assert any(e["name"] == "eps" and e["rules_in"] for e in d["evidence"])


def test_float16_mlp_with_a_float16_eps_is_quiet(tmp_path: Path):
    model = mlp(dtype=torch.float16)
    opt = _adam(model, eps=1e-4)
    _assert_quiet(recorded(tmp_path, "eps", model, opt, small_regression(torch.float16), mse, 4))


@pytest.mark.slow
def test_gru_with_weight_decay_past_two_over_lr_is_the_decay(tmp_path: Path):
    model = Tagger()
    opt = torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=500)  # meant 5e-2
    out = recorded(tmp_path, "decay", model, opt, sequence_batch, cross_entropy, 30)
    d = _found(out, "lr * weight_decay is 50, above 2")
    # the weights grew x49 a step until the loss overflowed (they are huge, still finite)
    assert "the loss computation itself produced the first non-finite value" in d["message"]
    assert "weight_decay 0.01-0.1" in d["fix"]
    _no_lr_advice(d)


@pytest.mark.slow
def test_gru_with_a_usual_weight_decay_is_quiet(tmp_path: Path):
    model = Tagger()
    opt = torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=5e-2)
    _assert_quiet(recorded(tmp_path, "decay_ok", model, opt, sequence_batch, cross_entropy, 30))


# -- a forward activation ---------------------------------------------------------------------
def test_transformer_with_an_all_padding_sequence_is_the_mask(tmp_path: Path):
    model = PaddedEncoder()
    out = recorded(tmp_path, "mask", model, _adam(model), padded_batch(2), cross_entropy, 4)
    d = _found(out, "first module whose output went non-finite in the forward pass is attn.proj")
    assert d["step"] == 2 and d["layers"] == ["attn.proj"]
    assert "_softmax in float32, on inputs holding -inf" in d["message"]
    assert "0/0 = NaN" in d["why"] and "torch.finfo(scores.dtype).min" in d["fix"]
    _no_lr_advice(d, out)


def test_with_every_step_checked_the_operation_is_still_named(tmp_path: Path):
    model = PaddedEncoder()
    batch = padded_batch(2)
    out = recorded(
        tmp_path, "all", model, _adam(model), batch, cross_entropy, 3, finite_checks="always"
    )
    d = _found(out, "_softmax in float32, on inputs holding -inf")
    assert "torch.finfo(scores.dtype).min" in d["fix"]


def test_transformer_filling_with_the_dtype_minimum_is_quiet(tmp_path: Path):
    model = PaddedEncoder(fill="min")
    _assert_quiet(recorded(tmp_path, "min", model, _adam(model), padded_batch(2), cross_entropy, 4))


def _bytes(dtype: torch.dtype):
    images = image_batch(255, size=64)  # pixels left as bytes, summed over a 64x64 map

    def batch(step: int):
        x, y = images(step)
        return x.to(dtype), y

    return batch


@pytest.mark.slow
def test_float16_cnn_overflowing_65504_is_float16(tmp_path: Path):
    model = ConvNet(pool="sum").half()
    out = recorded(
        tmp_path, "fp16", model, _adam(model, eps=1e-4), _bytes(torch.half), cross_entropy, 2
    )
    d = _found(out, "It computed in float16, whose largest value is 65504")
    assert d["step"] == 0 and d["layers"] == ["head"]
    assert "bfloat16" in d["fix"] and "GradScaler" in d["fix"]
    _no_lr_advice(d, out)


@pytest.mark.slow
def test_the_same_cnn_in_bfloat16_is_quiet(tmp_path: Path):
    model = ConvNet(pool="sum").bfloat16()
    _assert_quiet(
        recorded(tmp_path, "bf16", model, _adam(model), _bytes(torch.bfloat16), cross_entropy, 2)
    )


# -- the loss and the backward pass -----------------------------------------------------------
def _two_class_table(step: int):
    x, _ = table_batch(None)(step)
    return x, (x[:, 0] > 0).long()


def _hot(loss):
    return lambda out, y: loss(torch.cat([out, -out], 1) * 400, y)  # a temperature of 1/400


def test_log_of_softmax_is_the_loss_and_its_fix_is_cross_entropy(tmp_path: Path):
    model = mlp()
    out = recorded(tmp_path, "log", model, _adam(model), _two_class_table, _hot(log_of_softmax), 3)
    d = _found(out, "the loss's own backward (dL/d output) produced the first non-finite value")
    assert d["layers"] == [] and "cross_entropy" in d["fix"] and "log_softmax" in d["fix"]
    _no_lr_advice(d, out)


def test_the_same_logits_through_cross_entropy_are_quiet(tmp_path: Path):
    model = mlp()
    _assert_quiet(
        recorded(tmp_path, "ce", model, _adam(model), _two_class_table, _hot(cross_entropy), 3)
    )


def test_sqrt_of_a_zero_distance_breaks_the_backward_not_the_learning_rate(tmp_path: Path):
    model = PairwiseNet()
    out = recorded(tmp_path, "pair", model, _adam(model), table_batch(None), mse, 3)
    d = _found(out, "the backward pass produced it")
    assert d["step"] == 0 and d["layers"] == ["encode"]
    assert "sqrt" in d["why"] and "eps" in d["fix"] and "detect_anomaly" in d["fix"]
    _no_lr_advice(d, out)


def test_the_distance_with_an_eps_is_quiet(tmp_path: Path):
    model = PairwiseNet(eps=1e-12)
    _assert_quiet(recorded(tmp_path, "pair_ok", model, _adam(model), table_batch(None), mse, 3))


# -- large gradients: the one case for the learning rate --------------------------------------
def _loud(step: int):
    x, y = table_batch(None)(step)
    return x * 3, y * 100


@pytest.mark.slow
def test_an_explosion_before_the_nan_is_told_to_lower_the_learning_rate(tmp_path: Path):
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    out = recorded(tmp_path, "loud", model, opt, _loud, mse, 12)
    d = _found(out, "the end of the growth before")
    assert LR_ADVICE in d["fix"].lower() and "clip" in d["fix"]
    grads = next(e for e in d["evidence"] if e["name"] == "gradients before")
    assert grads["rules_in"] == ["large gradients"]


@pytest.mark.slow
def test_the_same_run_clipped_and_slower_is_quiet(tmp_path: Path):
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    _assert_quiet(recorded(tmp_path, "calm", model, opt, _loud, mse, 12))


def _bce_by_hand(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    p = torch.sigmoid(out * 100).squeeze(1)  # a sharp sigmoid: p rounds to 0 or 1
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()


def _bce_with_logits(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.binary_cross_entropy_with_logits((out * 100).squeeze(1), y)


def _binary_table(step: int):
    x, _ = table_batch(None)(step)
    return x, (x[:, 0] > 0).float()


def test_binary_cross_entropy_written_out_is_a_log_of_zero(tmp_path: Path):
    model = mlp()
    out = recorded(tmp_path, "bce", model, _adam(model), _binary_table, _bce_by_hand, 3)
    d = _found(out, "The loss's graph holds a log, not a fused log_softmax or logsigmoid")
    assert d["layers"] == [] and "binary_cross_entropy_with_logits" in d["fix"]
    _no_lr_advice(d, out)


def test_binary_cross_entropy_with_logits_is_quiet(tmp_path: Path):
    model = mlp()
    _assert_quiet(
        recorded(tmp_path, "bcel", model, _adam(model), _binary_table, _bce_with_logits, 3)
    )


@pytest.mark.slow
def test_the_scenario_trainer_records_the_origin_with_the_loss_op():
    from gradtui.events import StepStats
    from gradtui.scenario.loop import run
    from gradtui.scenario.spec import resolve

    spec = resolve("log_softmax_nan")
    events: list = []
    run(
        spec.model_copy(update={"train": spec.train.model_copy(update={"steps": 4})}), events.append
    )
    origins = [e.nonfinite_origin for e in events if isinstance(e, StepStats)]
    found = [o for o in origins if o is not None]
    assert len(found) == 1  # the first non-finite step only
    (origin,) = found
    assert (origin.stage, origin.where, origin.op, origin.op_inputs) == (
        "backward", "loss", "log", "zero"
    )  # fmt: skip


def test_with_the_forward_unchecked_it_says_so_instead_of_blaming_the_backward(tmp_path: Path):
    model = PaddedEncoder()
    batch = padded_batch(2)
    out = recorded(
        tmp_path, "off", model, _adam(model), batch, cross_entropy, 3, finite_checks="off"
    )
    d = _found(out, "The forward pass was not checked on this step")
    assert 'finite_checks="sampled"' in d["fix"] and d["layers"] == []
    _no_lr_advice(d, out)


# -- conditional computation ------------------------------------------------------------------
def test_a_routed_expert_that_divides_by_a_zero_norm_is_that_expert(tmp_path: Path):
    model = RoutedMixture()
    out = recorded(tmp_path, "moe", model, _adam(model), table_batch(None), mse, 3)
    d = _found(out, "first module whose output went non-finite in the forward pass is experts.2")
    assert d["layers"] == ["experts.2.fc"]
    assert "div in float32, on inputs holding a 0" in d["message"]
    assert "eps" in d["fix"] and "F.normalize" in d["fix"]
    _no_lr_advice(d, out)


def test_the_expert_with_an_eps_in_its_norm_is_quiet(tmp_path: Path):
    model = RoutedMixture(eps=1e-6)
    _assert_quiet(recorded(tmp_path, "moe_ok", model, _adam(model), table_batch(None), mse, 3))
