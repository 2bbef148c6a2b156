"""``gradtui serve``: a session whose screen crashes is reported, and the server exits 1.

The app processes are other processes, so the crash comes from a ``sitecustomize`` on their
PYTHONPATH: in a process that textual-serve started (TEXTUAL_DRIVER is its web driver), the
run screen's start raises. The server itself is left as it is."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest

pytest.importorskip("textual_serve", reason="textual-serve is not installed: gradtui[serve]")

import aiohttp

from tests.serve.recording import write_recording
from tests.serve.served import processes_mentioning, served, wait_until
from tests.serve.test_serve_websocket import WAIT, ws_url

CRASH = "a screen crash, for a test"
CRASHING_SITE = f'''
import os

if os.environ.get("TEXTUAL_DRIVER", "").startswith("textual.drivers.web_driver"):
    from gradtui.ui.screens.runscreen import RunScreen

    def start_runs(self):
        raise RuntimeError("{CRASH}")

    RunScreen.start_runs = start_runs
'''


async def session_until_closed(url: str) -> bool:
    """Open a tab's websocket and read until the server closes it (the app ended)."""
    session_url = ws_url(url, "width=100&height=30")
    async with aiohttp.ClientSession() as session, session.ws_connect(session_url) as websocket:
        await websocket.send_str(json.dumps(["resize", {"width": 100, "height": 30}]))
        while True:
            message = await asyncio.wait_for(websocket.receive(), WAIT)
            if message.type != aiohttp.WSMsgType.BINARY:
                return message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


def crashing_path(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(CRASHING_SITE)
    paths = [str(site), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {"PYTHONPATH": os.pathsep.join(paths)}


@pytest.mark.slow
def test_a_crashed_session_makes_serve_exit_one(tmp_path: Path) -> None:
    fixture = write_recording(tmp_path / "crash-fixture.jsonl")
    log = tmp_path / "serve.log"
    with served("replay", str(fixture), cwd=tmp_path, env=crashing_path(tmp_path)) as (
        url,
        server,
    ):
        assert asyncio.run(session_until_closed(url)), "the session did not end"
        said = "a browser session's app failed with exit status 1"
        assert wait_until(lambda: said in log.read_text(), WAIT), log.read_text()
        os.killpg(server.pid, signal.SIGINT)
        assert server.wait(timeout=WAIT) == 1
    text = log.read_text()
    assert CRASH in text  # the app's traceback reaches the server's terminal
    assert "1 session(s) failed" in text
    assert not processes_mentioning(str(fixture))
