"""Each shipped scenario shows its lesson in the numbers of `gradtui run NAME --json`."""

import json
import statistics
from functools import cache

import pytest

from gradtui.cli import main


@cache
def report(name: str, status: int = 0) -> dict:
    """The run's JSON report; ``status`` is the exit status it must end with."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["run", name, "--json"]) == status
    return json.loads(out.getvalue())


def layers(name: str) -> dict[str, dict]:
    return {layer["name"]: layer for layer in report(name)["layers"]}


def depth_ratio(name: str) -> float:
    """Last layer's median gradient norm over the first layer's."""
    rows = report(name)["layers"]
    return rows[-1]["grad_norm_median"] / rows[0]["grad_norm_median"]


def test_report_shape():
    r = report("relu_deep")
    assert r["schema"] == "gradtui.report/1"
    assert r["scenario"] == "relu_deep"
    assert r["steps_run"] == 200 and len(r["loss"]) == 200
    assert r["error"] is None
    assert isinstance(r["diagnoses"], list)
    names = [row["name"] for row in r["layers"]]
    assert names[0] == "blocks.0.linear" and names[-1] == "head"  # forward order
    assert set(r["layers"][0]) >= {
        "name",
        "grad_norm_first",
        "grad_norm_last",
        "grad_norm_median",
        "grad_none",
        "nonfinite",
        "weight_changed",
    }


def test_sigmoid_deep_first_layer_is_vanishingly_small():
    assert depth_ratio("sigmoid_deep") >= 1e4


@pytest.mark.parametrize(
    "name", ["relu_deep", "residual_deep", "init_kaiming", "batchnorm_sigmoid", "lr_too_low"]
)
def test_healthy_stacks_keep_gradients_within_three_decades(name: str):
    assert 1e-3 <= depth_ratio(name) <= 1e3


def test_residual_rescues_the_same_activation():
    assert (
        report("residual_deep")["layers"][0]["grad_norm_median"]
        > 1e6 * (report("sigmoid_deep")["layers"][0]["grad_norm_median"])
    )


def test_small_uniform_init_vanishes_where_kaiming_does_not():
    assert depth_ratio("init_small_uniform") >= 1e4


def test_broken_graph_cuts_off_exactly_the_blocks_before_the_detach():
    rows = layers("broken_graph")
    before = [f"blocks.{i}.linear" for i in range(4)]
    after = [name for name in rows if name not in before]
    for name in before:
        assert rows[name]["grad_none"] and not rows[name]["weight_changed"]
    for name in after:
        assert not rows[name]["grad_none"] and rows[name]["weight_changed"]


def test_exploding_no_clip_goes_non_finite_and_the_clipped_twin_does_not():
    wild, tame = report("exploding_no_clip"), report("exploding_clipped")
    assert None in wild["loss"] and wild["final_loss"] is None
    assert any(row["nonfinite"] > 0 for row in wild["layers"])
    assert None not in tame["loss"] and tame["steps_run"] == 200
    assert tame["final_loss"] < tame["loss"][0]


def test_naive_log_softmax_goes_non_finite_and_fused_cross_entropy_does_not():
    naive, fused = report("log_softmax_nan"), report("stable_cross_entropy")
    assert any(row["nonfinite"] > 0 for row in naive["layers"])
    assert None not in fused["loss"] and all(row["nonfinite"] == 0 for row in fused["layers"])
    assert naive["loss"][0] == pytest.approx(fused["loss"][0], rel=1e-5)  # same data, same net


def test_inplace_op_reports_autograd_error_and_exits_with_a_failure():
    r = report("inplace_op", status=1)  # the training raised: a failed run (issue 13)
    assert r["error"]["type"] == "RuntimeError"
    assert "inplace operation" in r["error"]["message"]
    assert "models.py" in r["error"]["forward_trace"]


def test_missing_zero_grad_lets_update_sizes_grow():
    r = report("missing_zero_grad")
    early, late = r["loss"][:20], r["loss"][-20:]
    assert min(late) > min(early)  # the loss turns back up


def test_tiny_overfit_drives_the_loss_to_about_zero():
    r = report("tiny_overfit")
    assert r["final_loss"] < 0.01 * r["loss"][0]


def stall(name: str) -> float:
    """Median loss of the last 50 steps over that of the first 50 (1.0: no progress)."""
    loss = report(name)["loss"]
    return statistics.median(loss[-50:]) / statistics.median(loss[:50])


def test_lr_too_low_stalls_with_the_same_healthy_gradients_that_train_relu_deep():
    assert stall("lr_too_low") > 0.9 and stall("relu_deep") < 0.6
    low, good = layers("lr_too_low"), layers("relu_deep")
    first = report("relu_deep")["layers"][0]["name"]
    assert low[first]["grad_norm_first"] == good[first]["grad_norm_first"]  # same start


def test_dead_relu_cuts_every_gradient_to_exactly_zero_and_the_loss_stops():
    rows = report("dead_relu")["layers"]
    assert all(row["grad_norm_first"] > 0.1 and row["grad_norm_last"] == 0.0 for row in rows)
    assert stall("dead_relu") > 0.9


def test_a_layer_left_out_of_the_optimizer_gets_gradients_but_never_changes():
    rows = layers("untrained_layer")
    left_out = rows.pop("blocks.3.linear")
    assert not left_out["grad_none"] and left_out["grad_norm_median"] > 0.1
    assert not left_out["weight_changed"]
    assert all(row["weight_changed"] for row in rows.values())
