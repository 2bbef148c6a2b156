"""Run a script that spawns gloo ranks on 127.0.0.1, in a session of its own, so that a hang
takes the ranks down with their parent."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def run_ranks_script(script: Path, *args: str, timeout: float = 180) -> None:
    """``python script args``; fails the test on a non-zero exit or a hang."""
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "PYTHONWARNINGS": "ignore"}
    ranks = subprocess.Popen(
        [sys.executable, str(script), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, err = ranks.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(ranks.pid, signal.SIGKILL)
        ranks.communicate()
        pytest.fail("the ranks hung (a collective called on some ranks only?)")
    assert ranks.returncode == 0, err[-3000:]
