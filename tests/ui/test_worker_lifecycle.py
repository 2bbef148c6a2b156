"""The training worker goes when the dashboard goes, however the dashboard ends."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc"),
]
STARTUP_S = 120.0  # the worker imports torch first: long on a busy machine
GONE_S = 30.0  # the worker checks for its parent twice a second; generous for a busy machine


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:  # fields[0] is the state, fields[1] the parent's pid
            found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def running(pid: int) -> bool:
    """Alive and not a zombie (an exited child nobody has reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def has_loaded_torch(pid: int) -> bool:
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def wait_until(condition, timeout_s: float, drain) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        drain()
    return condition()


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_the_worker_exits_when_the_dashboard_is_killed(how: int) -> None:
    import pty
    import select

    # As in a terminal, a shell leads the session and the dashboard is its child: were the
    # dashboard the session leader, its death would hang up the terminal and SIGHUP the worker,
    # hiding whether the worker notices on its own.
    shell, fd = pty.fork()
    if shell == 0:
        os.environ.update(TERM="xterm-256color", COLUMNS="120", LINES="40")
        command = [sys.executable, "-m", "gradtui", "launch", "relu_deep"]
        code = f"import subprocess; subprocess.call({command!r}); import time; time.sleep(600)"
        os.execv(sys.executable, [sys.executable, "-c", code])

    def drain() -> None:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                os.read(fd, 65536)
            except OSError:
                time.sleep(0.1)

    found: dict[str, int] = {}
    try:

        def worker_started() -> bool:
            dashboards = [c for c in children(shell) if "gradtui launch" in cmdline(c)]
            if dashboards:
                found["dashboard"] = dashboards[0]
                workers = [c for c in children(dashboards[0]) if "spawn_main" in cmdline(c)]
                if workers:
                    found["worker"] = workers[0]
            return "worker" in found and has_loaded_torch(found["worker"])

        assert wait_until(worker_started, STARTUP_S, drain), "no worker started"
        os.kill(found["dashboard"], how)
        assert wait_until(lambda: not running(found["dashboard"]), GONE_S, drain)
        assert wait_until(lambda: not running(found["worker"]), GONE_S, drain), "worker stayed"
    finally:
        for leftover in [*found.values(), shell]:
            if running(leftover):
                os.kill(leftover, signal.SIGKILL)
        os.waitpid(shell, 0)
        os.close(fd)
