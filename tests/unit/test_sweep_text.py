"""Sweep's table and JSON: plural agreement and a schema tag."""

import json

from gradtui.learn.sweep import SCHEMA, format_sweep, sweep_json


def _row(lr: float, nonfinite: int | None = None) -> dict:
    return {
        "lr": lr,
        "steps": 10,
        "max_grad_norm": 1.0,
        "final_loss": float("nan") if nonfinite is not None else 0.5,
        "nonfinite_step": nonfinite,
        "failed": None,
    }


def test_one_learning_rate_is_singular() -> None:
    text = format_sweep("mlp", [_row(0.1)])
    assert "at 1 learning rate\n" in text
    assert "1 learning rates" not in text


def test_several_learning_rates_are_plural() -> None:
    assert "at 2 learning rates" in format_sweep("mlp", [_row(0.1), _row(10.0, 3)])


def test_sweep_json_carries_a_schema_and_no_nan() -> None:
    doc = sweep_json("mlp", [_row(0.1), _row(10.0, 3)])
    assert doc["schema"] == SCHEMA == "gradtui.sweep/1"
    assert doc["scenario"] == "mlp"
    assert doc["runs"][1]["final_loss"] is None
    json.dumps(doc, allow_nan=False)
