"""`gradtui run NAME --json` gives each shipped scenario the diagnosis its lesson is about,
and no warning or error to the healthy ones; `--fail-on` turns that into an exit code."""

from __future__ import annotations

import contextlib
import io
import json
import math
from functools import cache

import pytest

from gradtui.cli import main
from gradtui.scenario.spec import resolve

pytestmark = pytest.mark.slow  # trains every shipped scenario once

HEALTHY = [
    "relu_deep",
    "residual_deep",
    "init_kaiming",
    "batchnorm_sigmoid",
    "exploding_clipped",
    "stable_cross_entropy",
    "tiny_overfit",
]


@cache
def report(name: str) -> tuple[dict, int]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["run", name, "--json", "--fail-on", "warning"])
    return json.loads(out.getvalue()), code


def found(name: str, kind: str) -> dict:
    matches = [d for d in report(name)[0]["diagnoses"] if d["kind"] == kind]
    assert matches, f"{name}: no {kind} in {report(name)[0]['diagnoses']}"
    return min(matches, key=lambda d: d["step"])


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_scenarios_have_no_warning_or_error(name):
    data, code = report(name)
    # issue 10: not even an update-ratio note (it fired on almost every healthy run)
    assert data["diagnoses"] == []
    assert code == 0
    assert {layer["status"] for layer in data["layers"]} == {"ok"}


@pytest.mark.parametrize("name", ["sigmoid_deep", "init_small_uniform"])
def test_deep_stacks_that_vanish(name):
    d = found(name, "vanishing_gradients")
    assert d["severity"] in ("warning", "error") and d["step"] == 0
    assert d["layers"][0] == "blocks.0.linear"
    assert "each shrink the gradient about" in d["message"]
    data, code = report(name)
    assert code == 1
    assert data["layers"][0]["status"] == "vanishing"


def test_lr_too_low_is_slow_updates_not_vanishing():
    kinds = {d["kind"] for d in report("lr_too_low")[0]["diagnoses"]}
    assert "vanishing_gradients" not in kinds
    d = found("lr_too_low", "update_ratio")
    assert "about 1e-3 is healthy" in d["message"]
    assert "learning rate is far too low" in found("lr_too_low", "loss_not_decreasing")["message"]
    for other in ("sigmoid_deep", "dead_relu"):  # stalled by vanishing, by dead units
        stuck = found(other, "loss_not_decreasing")
        assert "learning rate is far too low" not in stuck["message"]
    assert {layer["status"] for layer in report("lr_too_low")[0]["layers"]} == {"ok"}


def test_dead_relu_is_dead_units_first():
    data, code = report("dead_relu")
    first = data["diagnoses"][0]
    assert (first["kind"], first["severity"]) == ("dead_units", "error")
    assert "every unit is dead" in first["message"]
    assert "dead" in {layer["status"] for layer in data["layers"]}
    assert "frozen_parameters" not in {d["kind"] for d in data["diagnoses"]}  # seen as dead
    vanishing = found("dead_relu", "vanishing_gradients")  # its consequence, told as such
    assert "every unit there is dead" in vanishing["message"]
    assert "underflow" not in vanishing["message"]
    assert code == 1


def test_a_layer_left_out_of_the_optimizer_is_frozen_and_named():
    d = found("untrained_layer", "frozen_parameters")
    assert d["severity"] == "warning" and d["layers"] == ["blocks.3.linear"]
    assert "in the optimizer" in d["fix"]
    statuses = {layer["name"]: layer["status"] for layer in report("untrained_layer")[0]["layers"]}
    assert statuses.pop("blocks.3.linear") == "frozen"
    assert set(statuses.values()) == {"ok"}


def test_exploding_no_clip_explodes_then_goes_nonfinite():
    exploding = found("exploding_no_clip", "exploding_gradients")
    nonfinite = found("exploding_no_clip", "nonfinite")
    assert exploding["severity"] in ("warning", "error") and nonfinite["severity"] == "error"
    assert exploding["step"] < nonfinite["step"]
    assert f"step {nonfinite['step']}" in nonfinite["message"]


def test_broken_graph_names_exactly_the_layers_before_the_detach():
    cut = resolve("broken_graph").fault.detach_at
    d = found("broken_graph", "missing_gradients")
    assert d["severity"] == "error"
    assert d["layers"] == [f"blocks.{i}.linear" for i in range(cut)]
    statuses = [layer["status"] for layer in report("broken_graph")[0]["layers"]]
    assert statuses[:cut] == ["missing"] * cut and "missing" not in statuses[cut:]


def test_missing_zero_grad_is_gradient_accumulation():
    d = found("missing_zero_grad", "gradient_accumulation")
    assert d["severity"] == "error" and d["step"] == 1
    # the cause leads the list, ahead of its consequences (dead units, a rising loss)
    assert report("missing_zero_grad")[0]["diagnoses"][0]["kind"] == "gradient_accumulation"


def test_log_softmax_nan_names_the_loss():
    d = found("log_softmax_nan", "nonfinite")
    assert d["severity"] == "error" and d["layers"] == []
    assert "loss" in d["message"] and "cross_entropy" in d["fix"]


def test_inplace_op_is_an_autograd_error_with_its_forward_line():
    data, _ = report("inplace_op")
    d = found("inplace_op", "autograd_error")
    assert d["severity"] == "error"
    assert "changed in place" in d["message"]
    assert data["error"]["forward_trace"] in d["message"]


def test_the_report_carries_the_chain_and_only_finite_numbers():
    data, _ = report("sigmoid_deep")
    links = data["links"]
    assert [link["block"] for link in links][-1] == "head" and len(links) == 21
    assert links[0]["gain_median"] is None  # the first block's input is the data
    assert all(0 < link["gain_median"] < 0.5 for link in links[1:-1])
    assert links[1]["cumulative"] < 1e-10
    for link in report("exploding_no_clip")[0]["links"]:
        for value in (link["gain_median"], link["cumulative"]):
            assert value is None or math.isfinite(value)


STUCK = """
name = "stuck"
title = "A learning rate too small to learn"
lesson = "The loss never moves."
[model]
depth = 4
activation = "relu"
init = "kaiming"
[train]
steps = 200
lr = 1e-6
"""


def test_fail_on_error_passes_warnings(tmp_path):
    stuck = tmp_path / "stuck.toml"
    stuck.write_text(STUCK)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["run", str(stuck), "--fail-on", "error"]) == 0
        assert main(["run", str(stuck), "--fail-on", "warning"]) == 1
        assert main(["run", "relu_deep", "--steps", "60", "--fail-on", "warning"]) == 0
    assert "loss_not_decreasing" in out.getvalue() and "fix:" in out.getvalue()
