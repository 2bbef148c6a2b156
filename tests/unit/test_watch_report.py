"""gradtui report on recordings made by gradtui.watch: the same report as `gradtui run`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import gradtui
from gradtui.cli import main
from gradtui.recording import read_recording
from gradtui.report.build import build_report, diagnose


def record_run(path: Path, steps: int = 8, zero_grad: bool = True) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 4), torch.randint(0, 2, (32,))
    with gradtui.watch(model, opt, record=path, every=4) as monitor:
        for _ in range(steps):
            if zero_grad:
                opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            monitor.step(loss)
            opt.step()


def test_report_json_is_build_report_with_the_diagnoses(tmp_path: Path, capsys):
    path = tmp_path / "exp.jsonl"
    record_run(path)
    assert main(["report", str(path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    events = read_recording(path).events
    diagnoser = diagnose(events)  # as `gradtui run` does it
    expected = build_report(
        events, diagnoser.diagnoses(), diagnoser.links(), diagnoser.layer_status()
    )
    assert printed == expected
    assert printed["scenario"] == "exp" and printed["steps_run"] == 8
    assert [layer["name"] for layer in printed["layers"]] == ["0", "2"]


def test_report_text_and_fail_on(tmp_path: Path, capsys):
    path = tmp_path / "carried.jsonl"
    record_run(path, steps=12, zero_grad=False)
    code = main(["report", str(path), "--fail-on", "warning"])
    out = capsys.readouterr().out
    assert "run carried: 12 steps" in out  # a watched run is not a scenario
    report = json.loads(_report_json(path))
    severities = {d["severity"] for d in report["diagnoses"]}
    assert code == (1 if severities & {"warning", "error"} else 0)
    assert "gradient_accumulation" in {d["kind"] for d in report["diagnoses"]}


def _report_json(path: Path) -> str:
    return subprocess.run(
        [sys.executable, "-m", "gradtui", "report", str(path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_report_of_a_cut_off_recording_warns_and_reports_what_is_there(tmp_path: Path, capsys):
    path = tmp_path / "cut.jsonl"
    record_run(path, steps=6)
    text = path.read_text()
    # the last two lines are step 5 and run_finished: cut step 5's line in the middle
    path.write_text(text[: text.rindex("\n", 0, len(text) - 1) - 20])
    assert main(["report", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    assert "incomplete" in captured.err
    assert len(json.loads(captured.out)["loss"]) == 5  # steps 0 to 4


def test_report_does_not_import_torch(tmp_path: Path):
    path = tmp_path / "exp.jsonl"
    record_run(path, steps=3)
    code = (
        "import sys; from gradtui.cli import main; "
        f"main(['report', {str(path)!r}]); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False")


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), ("not json\n", "not a gradtui.recording/2 header")],
)
def test_report_of_a_bad_file_is_one_line(tmp_path: Path, capsys, content, message):
    path = tmp_path / "bad.jsonl"
    if content is not None:
        path.write_text(content)
    assert main(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
