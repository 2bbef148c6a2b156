"""The diagnosis package stays pure Python, and the report carries what it found."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gradtui.report.build import build_report, diagnose, format_report
from tests.unit.diagnosis_fakes import chain, healthy, started


def test_importing_the_diagnosis_rules_loads_neither_torch_nor_textual():
    code = (
        "import sys, gradtui.diagnosis, gradtui.report.build; "
        "print(sorted(m for m in ('torch', 'textual') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def _events():
    run = started(depth=4)
    steps = [healthy(run, s, block_grad_norm=chain(run, 0.01)) for s in range(4)]
    nan = float("nan")
    steps.append(
        healthy(
            run,
            4,
            loss=nan,
            grad_norm_total=nan,
            grad_norm=(nan,) * 5,
            block_grad_norm=(nan,) * 5,
            nonfinite=(1,) * 5,
            nonfinite_source="loss",
        )
    )
    return [run, *steps]


def test_the_report_has_diagnoses_links_and_statuses_as_strict_json():
    events = _events()
    diagnoser = diagnose(events)
    report = build_report(
        events, diagnoser.diagnoses(), diagnoser.links(), diagnoser.layer_status()
    )
    text = json.dumps(report, allow_nan=False)  # non-finite numbers became null
    data = json.loads(text)
    assert [d["kind"] for d in data["diagnoses"]] == ["nonfinite", "vanishing_gradients"]
    assert set(data["diagnoses"][0]) == {
        "kind",
        "severity",
        "step",
        "layers",
        "message",
        "why",
        "fix",
        "evidence",  # issue 23: every finding carries it, empty where a rule has none
    }
    assert [link["block"] for link in data["links"]] == [
        "blocks.0",
        "blocks.1",
        "blocks.2",
        "blocks.3",
        "head",
    ]
    assert data["links"][2]["gain_median"] == pytest.approx(0.01)  # medians skip the NaN
    assert data["links"][0]["cumulative"] is None
    assert [layer["status"] for layer in data["layers"]] == ["nonfinite"] * 5


def test_the_summary_lists_each_diagnosis_with_its_fix_and_the_chain():
    events = _events()
    diagnoser = diagnose(events)
    text = format_report(
        build_report(events, diagnoser.diagnoses(), diagnoser.links(), diagnoser.layer_status())
    )
    assert "[error] nonfinite (step 4)" in text
    assert "[warning] vanishing_gradients (step 0)" in text
    assert text.count("fix: ") == 2
    assert "median link gain" in text


def test_without_a_diagnoser_the_report_still_builds():
    data = build_report(_events())
    assert data["diagnoses"] == [] and data["links"] == []
    assert {layer["status"] for layer in data["layers"]} == {"ok"}
