"""A finding's evidence survives recording, reaches the JSON report and the Diagnoses panel."""

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradtui.events import (
    Diagnosis,
    Evidence,
    LayerInfo,
    RunStarted,
    event_from_dict,
    event_to_dict,
)
from gradtui.recording import Recorder, read_recording
from gradtui.recording.schema import BadEvent, checked_event
from gradtui.report.build import build_report, format_report
from gradtui.ui.widgets.diagnoses import diagnosis_text

STARTED = RunStarted(
    scenario="s",
    title="t",
    lesson="l",
    spec={},
    layers=(LayerInfo("fc", "Linear", 0, 10),),
    blocks=("fc",),
    total_steps=3,
    heavy_every=1,
)
EVIDENCE = (
    Evidence("input batch", "finite", rules_out=("input batch",)),
    Evidence("largest |grad| before the step", 0.03, rules_out=("backward gradient",)),
    Evidence("weights after the step", math.inf, rules_in=("optimizer update",)),
    Evidence("lr", 0, rules_in=("lr schedule ended",)),
)
FOUND = Diagnosis("nonfinite", "error", 2, ("fc",), "m", "w", "f", EVIDENCE)


def test_evidence_survives_a_dict_round_trip():
    assert event_from_dict(event_to_dict(FOUND)) == FOUND


def test_evidence_survives_a_file_round_trip(tmp_path: Path):
    path = tmp_path / "run.jsonl"
    with Recorder(path) as record:
        record(STARTED)
        record(FOUND)
    loaded = read_recording(path)
    assert loaded.events[1] == FOUND
    assert (
        loaded.events[1].evidence[3].value == 0 and type(loaded.events[1].evidence[3].value) is int
    )


def test_a_recording_made_before_evidence_existed_still_reads(tmp_path: Path):
    old = {k: v for k, v in event_to_dict(FOUND).items() if k != "evidence"}
    path = tmp_path / "old.jsonl"
    with Recorder(path) as record:
        record(STARTED)
    path.write_text(path.read_text() + json.dumps(old) + "\n")
    finding = read_recording(path).events[1]
    assert finding.evidence == () and finding.fix == "f"


@pytest.mark.parametrize(
    ("evidence", "field"),
    [
        ("lots", "evidence"),
        ([1], "evidence[0]"),
        ([{"value": 1}], "evidence[0]: expected a table with a name"),
        ([{"name": 3, "value": 1}], "evidence[0].name"),
        ([{"name": "lr"}], "evidence[0]: expected a table with a name and a value"),
        ([{"name": "lr", "value": [1]}], "evidence[0].value"),
        ([{"name": "lr", "value": 1, "rules_in": "x"}], "evidence[0].rules_in"),
    ],
)
def test_a_bad_evidence_field_is_named(tmp_path: Path, evidence, field):
    data = event_to_dict(FOUND) | {"evidence": evidence}
    path = tmp_path / "bad.jsonl"
    with Recorder(path) as record:
        record(STARTED)
    path.write_text(path.read_text() + json.dumps(data) + "\n")
    loaded = read_recording(path)
    assert len(loaded.events) == 1  # the bad finding is skipped, the run still reads
    message = loaded.warning
    assert field in message and path.name in message and "\n" not in message


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), st.lists, max_leaves=8))
def test_any_decoded_evidence_is_read_or_refused_with_bad_event(value):
    data = event_to_dict(FOUND) | {"evidence": [{"name": "n", "value": value}]}
    try:
        finding = checked_event(data, STARTED)
    except BadEvent:
        return
    assert isinstance(finding.evidence[0].value, str | int | float)


def test_the_report_has_evidence_on_every_finding_and_writes_nonfinite_as_text():
    bare = Diagnosis("loss_not_decreasing", "warning", 5, (), "m", "w", "f")
    report = build_report([STARTED], [FOUND, bare])
    json.dumps(report, allow_nan=False)
    assert report["diagnoses"][1]["evidence"] == []
    first = report["diagnoses"][0]["evidence"]
    assert first[2] == {
        "name": "weights after the step",
        "value": "inf",
        "rules_in": ["optimizer update"],
        "rules_out": [],
    }
    assert "evidence: input batch finite; largest |grad| before the step 0.03" in format_report(
        report
    )


def test_the_panel_shows_evidence_as_one_line_and_never_as_markup():
    hostile = Diagnosis(
        "nonfinite", "error", 0, (), "m", "w", "f", (Evidence("[bold]x[/bold]\x1b[2J", "[red]"),)
    )
    text = diagnosis_text(hostile)
    assert "evidence: [bold]x[/bold]" in text.plain and "[red]" in text.plain
    assert "\x1b" not in text.plain
    assert "evidence" not in diagnosis_text(hostile, compact=True).plain
    assert "evidence" not in diagnosis_text(Diagnosis("k", "info", 0, (), "m", "w", "f")).plain
