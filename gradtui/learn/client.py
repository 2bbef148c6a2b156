"""The UI's line to the autograd worker (``python -m gradtui.learn.oracle``); no torch here."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class OracleError(Exception):
    """The worker could not be started, or stopped, or answered with an error."""


class OracleClient:
    """One worker process, started on the first question, asked one question at a time."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    async def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            process = await self._running()
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write((json.dumps(request) + "\n").encode())
            await process.stdin.drain()
            line = await process.stdout.readline()
        if not line:
            raise OracleError("the autograd worker stopped")
        answer = json.loads(line)
        if "error" in answer:
            raise OracleError(answer["error"])
        return answer

    async def _running(self) -> asyncio.subprocess.Process:
        if self._process is None or self._process.returncode is not None:
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p
            )
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "gradtui.learn.oracle",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                env=env,
            )
        return self._process

    def close(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            process.kill()
        self._process = None
