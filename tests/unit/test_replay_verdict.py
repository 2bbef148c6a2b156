"""replay and report give one verdict on a file: what report refuses, replay refuses with
the same line and the same exit status, instead of a dashboard that waits for ever."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradtui.cli import main
from gradtui.recording import FORMAT

HEADER = json.dumps({"format": FORMAT})
STEP = json.dumps({"type": "step", "step": 0, "loss": 1.0})


def broken_files(tmp_path: Path) -> dict[str, Path]:
    contents = {
        "header_only": HEADER + "\n",
        "steps_without_start": HEADER + "\n" + STEP + "\n",
        "nuls_then_steps": "\0" * 400 + STEP + "\n",
        "bad_start": HEADER + "\n" + json.dumps({"type": "run_started", "layers": 3}) + "\n",
        "empty": "",
    }
    paths = {}
    for name, text in contents.items():
        paths[name] = tmp_path / f"{name}.jsonl"
        paths[name].write_text(text)
    return paths


@pytest.mark.parametrize(
    "name", ["header_only", "steps_without_start", "nuls_then_steps", "bad_start", "empty"]
)
def test_replay_refuses_what_report_refuses(tmp_path: Path, capsys, name: str):
    path = broken_files(tmp_path)[name]
    assert main(["report", str(path)]) == 2
    said_by_report = capsys.readouterr().err.strip().splitlines()[-1]
    assert main(["replay", str(path)]) == 2  # before: a dashboard "starting · waiting"
    said_by_replay = capsys.readouterr().err.strip().splitlines()[-1]
    assert said_by_replay == said_by_report
    assert path.name in said_by_replay and "Traceback" not in said_by_replay
