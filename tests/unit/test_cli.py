"""The command line: fast, torch-free help, valid JSON, recordings."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gradtui.cli import main
from gradtui.recording import read_recording

ROOT = Path(__file__).resolve().parents[2]

NO_TORCH = """
import sys
from gradtui import cli
for argv in (["--help"], ["list"], ["run", "--help"]):
    try:
        cli.main(argv)
    except SystemExit:
        pass
print("TORCH LOADED" if "torch" in sys.modules else "NO TORCH")
"""


def test_help_and_list_do_not_import_torch():
    out = subprocess.run(
        [sys.executable, "-c", NO_TORCH], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().endswith("NO TORCH")
    assert "usage: gradtui" in out and "sigmoid_deep" in out


def test_python_dash_m_runs_a_scenario_and_prints_strict_json():
    result = subprocess.run(
        [sys.executable, "-m", "gradtui", "run", "exploding_no_clip", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"bare {c}"))
    assert report["final_loss"] is None  # non-finite written as null
    assert None in report["loss"]
    assert "Traceback" not in result.stderr


def test_record_writes_a_recording_that_reads_back(tmp_path: Path, capsys):
    path = tmp_path / "runs" / "tiny.jsonl"
    assert main(["run", "tiny_overfit", "--steps", "7", "--record", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "tiny_overfit" in printed and "head" in printed
    loaded = read_recording(path)
    assert loaded.warning is None
    assert [e.type for e in loaded.events] == ["run_started"] + ["step"] * 7 + ["run_finished"]


def test_steps_and_seed_overrides(capsys):
    assert main(["run", "relu_deep", "--steps", "3", "--seed", "5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["steps_run"] == 3 and len(report["loss"]) == 3


def test_the_wheel_carries_the_shipped_scenarios(tmp_path: Path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("gradtui-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {p.name for p in (ROOT / "scenarios").glob("*.toml")}
    assert {Path(n).name for n in names if n.startswith("gradtui/scenarios/")} == shipped
    assert "gradtui/py.typed" in names
    assert not [n for n in names if n.endswith("screenshots.py")]  # tools/, not the package
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
