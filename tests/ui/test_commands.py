"""`gradtui launch` and `gradtui replay`: a user's mistake is one line and exit status 2."""

from __future__ import annotations

import subprocess
import sys


def gradtui(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gradtui", *args], capture_output=True, text=True, timeout=60
    )


def test_launch_an_unknown_scenario() -> None:
    result = gradtui("launch", "no_such_scenario")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "unknown scenario 'no_such_scenario'" in result.stderr


def test_replay_a_missing_or_broken_file(tmp_path) -> None:
    result = gradtui("replay", str(tmp_path / "nothing.jsonl"))
    assert result.returncode == 2 and "cannot read" in result.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text("not json\n")
    result = gradtui("replay", str(broken))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "line 1" in result.stderr


def test_replay_takes_at_most_two_files(tmp_path) -> None:
    result = gradtui("replay", "a", "b", "c")
    assert result.returncode == 2 and "one file, or two" in result.stderr


def test_help_lists_the_commands() -> None:
    result = gradtui("--help")
    assert "launch" in result.stdout and "replay" in result.stdout
