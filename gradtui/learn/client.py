"""The UI's line to the autograd worker (``python -m gradtui.learn.oracle``); no torch here.

``ask`` blocks until the answer comes: call it from a thread worker, never the UI thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class OracleError(Exception):
    """The worker could not be started, or stopped, or answered with an error."""


class OracleClient:
    """One worker process, started on the first question, asked one question at a time."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            process = self._running()
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
                line = process.stdout.readline()
            except (OSError, ValueError) as exc:
                raise OracleError(f"the autograd worker stopped ({exc})") from exc
        if not line:
            raise OracleError("the autograd worker stopped")
        answer = json.loads(line)
        if "error" in answer:
            raise OracleError(answer["error"])
        return answer

    def _running(self) -> subprocess.Popen[str]:
        if self._process is None or self._process.poll() is not None:
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p
            )
            try:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "gradtui.learn.oracle"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                    env=env,
                )
            except OSError as exc:
                raise OracleError(f"could not start the autograd worker: {exc}") from exc
        return self._process

    def close(self) -> None:
        """Ends our own worker process (only that one) and waits for it briefly."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=2)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
