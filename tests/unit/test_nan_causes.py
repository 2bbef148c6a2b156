"""The choice among a NaN's causes, on made-up steps: the branches a short real run cannot
reach cheaply (a huge learning rate, evidence that cannot decide, weights bad from the
start), and a recorded origin read back or refused."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradtui.events import NonfiniteOrigin, event_from_dict, event_to_dict
from gradtui.recording.schema import BadEvent, checked_event
from tests.unit.diagnosis_fakes import feed, healthy, started

NAN = math.nan


def _nan_step(run, step, origin: NonfiniteOrigin, lr: float = 1e-3):
    n = len(run.layers)
    return healthy(
        run,
        step,
        loss=NAN,
        grad_norm_total=NAN,
        grad_norm=(NAN,) * n,
        nonfinite=(4,) * n,
        nonfinite_source="blocks.0.linear",
        nonfinite_origin=origin,
        lr=lr,
    )


def _finding(origin: NonfiniteOrigin, lr: float = 1e-3, **settings):
    run = dataclasses.replace(started(depth=2), **settings)
    events = [run, *[healthy(run, s, lr=lr) for s in range(4)], _nan_step(run, 4, origin, lr)]
    _, fired = feed(events)
    (d,) = [d for _, d in fired if d.kind == "nonfinite"]
    return d


UPDATE = NonfiniteOrigin(
    "update", where="blocks.0.linear.weight", dtype="float32", values="inf",
    weights=("blocks.0.linear.weight", "head.weight"),
)  # fmt: skip


def test_a_huge_learning_rate_with_small_gradients_is_the_learning_rate():
    d = _finding(UPDATE, lr=1e6, optimizer="sgd")
    assert "The learning rate is 1.0e+06" in d.message
    assert "usual range" in d.fix and d.layers == ("blocks.0.linear", "head")
    assert any(e.name == "lr" and e.rules_in == ("learning rate huge",) for e in d.evidence)


def test_an_update_the_evidence_cannot_explain_says_so_and_lists_what_to_check():
    d = _finding(UPDATE, lr=1e-3, eps=1e-8, param_dtype="float32", weight_decay=0.0)
    assert "does not decide" in d.message
    assert "Check, in this order" in d.fix and "eps" in d.fix and "weight_decay" in d.fix
    assert "lower the learning rate" not in d.fix.lower()


def test_float32_weights_with_the_usual_eps_are_not_blamed_on_eps():
    d = _finding(dataclasses.replace(UPDATE, dtype="float32"), eps=1e-8, param_dtype="float32")
    assert "rounds to 0" not in d.message


def test_weights_bad_before_the_first_step_are_the_checkpoint():
    run = started(depth=2)
    origin = NonfiniteOrigin("weights", where="head.weight", weights=("head.weight",))
    _, fired = feed([run, _nan_step(run, 0, origin)])
    (d,) = [d for _, d in fired if d.kind == "nonfinite"]
    assert "before the first step" in d.message and "checkpoint" in d.fix
    assert d.layers == ("head",)


def test_a_forward_nan_nothing_explains_lists_what_to_check():
    origin = NonfiniteOrigin(
        "forward", where="blocks.1.linear", module_kind="Linear", dtype="float32", values="nan"
    )
    d = _finding(origin)
    assert "does not decide" in d.message and "Check, in this order" in d.fix
    assert "lower the learning rate" not in d.fix.lower()
    assert d.layers == ("blocks.1.linear",)


def test_a_division_by_zero_in_a_module_is_named_with_its_operation():
    origin = NonfiniteOrigin(
        "forward", where="blocks.1.linear", dtype="float32", values="nan", op="div",
        op_inputs="zero",
    )  # fmt: skip
    d = _finding(origin)
    assert "div in float32, on inputs holding a 0" in d.message and "eps" in d.fix


def test_targets_with_nan_are_the_data():
    origin = NonfiniteOrigin("input", where="targets", values="nan", entries=3, size=64)
    d = _finding(origin)
    assert "targets already held 3 NaN of its 64 entries" in d.message
    assert "labels" in d.fix and d.layers == ()


def test_an_origin_survives_a_dict_round_trip_and_a_bad_one_is_named():
    run = started(depth=2)
    step = _nan_step(run, 4, UPDATE)
    back = event_from_dict(json.loads(json.dumps(event_to_dict(step))))
    assert back.nonfinite_origin == UPDATE
    data = json.loads(json.dumps(event_to_dict(step)))
    data["nonfinite_origin"]["weights"] = "head.weight"
    with pytest.raises(BadEvent, match=r"nonfinite_origin\.weights"):
        checked_event(data, run)
    del data["nonfinite_origin"]
    assert checked_event(data, run).nonfinite_origin is None  # an older recording


def test_an_additive_mask_passed_as_an_argument_is_not_bad_data():
    import torch

    from gradtui.probe.origin import input_origin, named_inputs

    mask = torch.nn.Transformer.generate_square_subsequent_mask(4)
    x = torch.randn(2, 4, 8)
    assert input_origin(named_inputs((x,), {"mask": mask})) is None
    x[1, 2, 3] = -math.inf  # data that holds a -inf (a log of 0 in preprocessing) is
    found = input_origin(named_inputs((x,), {"mask": mask}))
    assert found is not None and (found.where, found.entries) == ("input", 1)


def test_an_exp_that_overflows_from_finite_inputs_is_named_with_the_stable_form():
    origin = NonfiniteOrigin(
        "forward", where="blocks.1.linear", dtype="float32", values="inf", op="exp",
        op_inputs="finite",
    )  # fmt: skip
    d = _finding(origin)
    assert "about 88" in d.why and "logsumexp" in d.fix
    assert "lower the learning rate" not in d.fix.lower()


def test_a_failure_to_find_the_origin_is_logged_and_costs_nothing_else(caplog):
    from gradtui.probe.origin import origin_or_none

    def broken():
        raise RuntimeError("a tensor kind we did not foresee")
        yield

    assert origin_or_none(3, broken(), [], None, "backward") is None
    assert "could not work out where the first NaN/inf came from" in caplog.text


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
KEYS = st.sampled_from(["stage", "where", "entries", "columns", "weights", "graph_ops", "op"])


@given(st.dictionaries(KEYS, JSON, max_size=4) | JSON)
def test_any_decoded_origin_is_read_or_refused_with_bad_event(value):
    run = started(depth=2)
    data = json.loads(json.dumps(event_to_dict(_nan_step(run, 4, UPDATE))))
    data["nonfinite_origin"] = value
    try:
        step = checked_event(data, run)
    except BadEvent:
        return
    origin = step.nonfinite_origin
    assert origin is None or (isinstance(origin.stage, str) and origin.entries >= 0)
