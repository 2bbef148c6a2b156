"""Start ``gradtui serve`` in its own process group, find its URL, and end it (and every
process it started) whatever happens."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

STARTUP_SECONDS = 60.0
URL = re.compile(r"open (http://\S+) in a browser")


def split_url(url: str) -> tuple[str, str]:
    """The printed URL's ``http://host:port`` and its token."""
    base, _, token = url.partition("/?token=")
    assert token, f"no token in {url}"
    return base, token


def processes_mentioning(text: str, but: int = -1) -> list[int]:
    """Pids of live processes whose command line contains ``text`` (all but pid ``but``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z" and int(entry.name) != but:
            found.append(int(entry.name))
    return found


def wait_until(check, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


@contextlib.contextmanager
def served(
    *app_args: str, cwd: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:
    """``gradtui serve APP_ARGS`` on a free port; yields its URL and process. ``env``: added
    to this process's environment (the server's app processes inherit it)."""
    command = [sys.executable, "-m", "gradtui", "serve", *app_args]
    log = open(cwd / "serve.log", "w+")  # noqa: SIM115 (read back while it runs)
    server = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    try:
        url = None

        def started() -> bool:
            nonlocal url
            match = URL.search((cwd / "serve.log").read_text())
            url = match[1] if match else None
            return url is not None or server.poll() is not None

        wait_until(started, STARTUP_SECONDS)
        assert url, f"the server did not start:\n{(cwd / 'serve.log').read_text()}"
        yield url, server
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGINT)  # the server ends its app processes
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)  # anything of its group still there
        log.close()
