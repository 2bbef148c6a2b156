"""Findings on a user's nn.Sequential name layers as users recognise them, quote only finite
numbers once the loss has gone non-finite, and a watched run's report calls it a run."""

from __future__ import annotations

import math
import re

import pytest
import torch
from torch.nn import functional as F

from gradtui.diagnosis.words import link_span, name_list, readable
from gradtui.report.build import format_report
from tests.unit.trust_loops import deep_relu_mlp, regression_batch, seeded, train


def test_bare_indices_read_as_layers():
    assert readable("0") == "layer 0"
    assert readable("blocks.0") == "blocks.0"
    assert name_list(["4"]) == "layer 4"
    assert name_list(["0", "2", "4"]) == "layers 0, 2 and 4"
    assert name_list([str(i) for i in range(0, 18, 2)]) == "layers 0 to 16 (9 layers)"
    assert name_list(["0", "head"]) == "layer 0 and head"
    assert link_span(3, 3, ["a", "b", "c", "6"]) == "link 3 (layer 6)"


@pytest.fixture(scope="module")
def diverged():
    """A plain Sequential MLP under SGD at a rate far too high: its loss overflows."""
    return train(
        seeded(deep_relu_mlp, 0),
        lambda step: tuple(t * 30 for t in regression_batch(step)),
        40,
        lambda m: torch.optim.SGD(m.parameters(), lr=0.5),
        loss_fn=F.mse_loss,
    )


def test_sequential_findings_never_show_a_bare_index(diverged):
    assert diverged.diagnoses
    for d in diverged.diagnoses:
        # "moved 0, 2 and 4" or "(6)" would be a bare child index standing for a layer
        assert not re.search(r"(?<![\w.\-])\d+, \d+(,| and) ", d.message), d.message
        assert not re.search(r"\((\d+)\)", d.message), d.message


def test_divergence_quotes_finite_numbers_up_to_the_first_non_finite_step(diverged):
    first_bad = next(i for i, loss in enumerate(diverged.losses) if not math.isfinite(loss))
    d = diverged.one("divergence")
    quoted = re.search(r"By step (\d+) the loss was", d.message)
    if quoted is not None:
        assert int(quoted.group(1)) < first_bad, d.message
        assert f"first non-finite at step {first_bad}" in d.message
    assert "nan" not in d.message.lower().replace("non-finite", "")


def test_a_watched_run_is_called_a_run():
    report = {"scenario": "train.py", "source": "watch", "steps_run": 3, "loss": [], "error": None}
    assert format_report({**report, "final_loss": None, "diagnoses": [], "layers": []}).startswith(
        "run train.py: 3 steps"
    )
