"""The command line's contract (issue 13): exit statuses, a reader that leaves early,
did-you-mean, --version, --scenarios after the command, the progress line, launch's options."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gradtui.cli import main
from gradtui.scenario.headless import Progress
from gradtui.scenario.spec import builtin_scenario_dir

ROOT = Path(__file__).resolve().parents[2]


def gradtui_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_a_training_that_raised_exits_1_and_says_so(capsys) -> None:
    assert main(["run", "inplace_op", "--steps", "2"]) == 1
    captured = capsys.readouterr()
    assert "autograd_error" in captured.out  # the report is still printed
    assert "the training raised at step 0" in captured.err and "failed" in captured.err


def test_the_fixed_twin_exits_0(capsys) -> None:
    assert main(["run", "relu_deep", "--steps", "2"]) == 0


def test_a_reader_that_left_early_gets_no_traceback() -> None:
    """stdout is a pipe whose reading end is already closed (as after `| head`)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "gradtui", "list"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=gradtui_env(),
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 141
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
    assert result.stderr == ""


def test_a_typo_gets_did_you_mean(capsys) -> None:
    assert main(["run", "sigmoid_dep"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'sigmoid_deep'?" in err


def test_a_name_far_from_any_lists_the_known_ones(capsys) -> None:
    assert main(["run", "zzzzzz"]) == 2
    assert "known: " in capsys.readouterr().err


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["--version"])
    assert ended.value.code == 0
    assert capsys.readouterr().out.startswith("gradtui ")


@pytest.mark.parametrize("before", [True, False])
def test_scenarios_before_or_after_the_command(tmp_path: Path, capsys, before: bool) -> None:
    shutil.copy(builtin_scenario_dir() / "relu_deep.toml", tmp_path / "my_own.toml")
    text = (tmp_path / "my_own.toml").read_text().replace('"relu_deep"', '"my_own"', 1)
    (tmp_path / "my_own.toml").write_text(text)
    folder = ["--scenarios", str(tmp_path)]
    argv = [*folder, "list"] if before else ["list", *folder]
    assert main(argv) == 0
    assert "my_own" in capsys.readouterr().out


def test_the_progress_line_shows_rate_and_time_left() -> None:
    line = Progress(100).line(done=11, loss=0.5, elapsed_s=2.0)  # 10 steps in 2 s
    assert "11/100" in line and "5 steps/s" in line and "eta 18s" in line
    assert "eta -" in Progress(100).line(done=1, loss=0.5, elapsed_s=0.0)


def test_launch_record_refuses_an_existing_file(tmp_path: Path, capsys) -> None:
    taken = tmp_path / "run.jsonl"
    taken.write_text("mine\n")
    assert main(["launch", "relu_deep", "--record", str(taken)]) == 2
    assert "already exists" in capsys.readouterr().err and taken.read_text() == "mine\n"


def test_launch_record_needs_a_name(tmp_path: Path, capsys) -> None:
    assert main(["launch", "--record", str(tmp_path / "run.jsonl")]) == 2
    assert "needs a scenario NAME" in capsys.readouterr().err


def test_launch_rejects_a_bad_speed(capsys) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["launch", "relu_deep", "--speed", "fast"])
    assert ended.value.code == 2


def test_ctrl_c_prints_the_partial_report(tmp_path: Path) -> None:
    """SIGINT mid-run: the run ends stopped, its report so far is printed, status 130."""
    import signal
    import time

    from tests.unit.test_signals import WAIT_S, steps_in

    path = tmp_path / "run.jsonl"
    command = [sys.executable, "-m", "gradtui", "run", "relu_deep", "--steps", "1000000"]
    process = subprocess.Popen(
        [*command, "--record", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=gradtui_env(),
    )
    try:
        deadline = time.monotonic() + WAIT_S
        while steps_in(path) < 3:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            if time.monotonic() > deadline:  # a generous wait, not a speed check
                pytest.fail("no steps were written")
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=WAIT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert out.startswith("scenario relu_deep: ") and "diagnoses:" in out
    assert "stopped by signal 2" in err and "Traceback" not in err
