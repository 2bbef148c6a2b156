"""``gradtui serve`` without a browser: a websocket client sends the keys a browser would."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

pytest.importorskip("textual_serve", reason="textual-serve is not installed: gradtui[serve]")

import aiohttp

from tests.serve.recording import write_recording
from tests.serve.served import processes_mentioning, served, split_url, wait_until

WAIT = 60.0  # generous: two busy cores start a Python process with textual and draw
HELP_MARKER = "Reading the dashboard"  # the help screen's title (not on the dashboard)
DRAWN_MARKER = "served"  # the run's name, in the header once the dashboard has drawn


async def read_until(websocket: aiohttp.ClientWebSocketResponse, seen: list[str], text: str):
    """Collect the terminal output until ``text`` is in it; False if the socket closed."""
    while text not in "".join(seen):
        message = await asyncio.wait_for(websocket.receive(), WAIT)
        if message.type == aiohttp.WSMsgType.BINARY:
            seen.append(message.data.decode("utf-8", "replace"))
        elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            return False
    return True


def ws_url(url: str, query: str) -> str:
    base, token = split_url(url)
    return base.replace("http://", "ws://") + f"/ws?token={token}&{query}"


async def drive(url: str) -> tuple[bool, bool, bool]:
    ws_url_ = ws_url(url, "width=120&height=36")
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url_) as websocket:
        await websocket.send_str(json.dumps(["resize", {"width": 120, "height": 36}]))
        seen: list[str] = []
        drawn = await read_until(websocket, seen, DRAWN_MARKER)
        assert HELP_MARKER not in "".join(seen)
        seen.clear()
        await websocket.send_str(json.dumps(["stdin", "?"]))
        helped = await read_until(websocket, seen, HELP_MARKER)
        await websocket.send_str(json.dumps(["stdin", "q"]))
        message = await asyncio.wait_for(websocket.receive(), WAIT)
        while message.type == aiohttp.WSMsgType.BINARY:  # the app's last frames
            message = await asyncio.wait_for(websocket.receive(), WAIT)
        closed = message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        return drawn, helped, closed


@pytest.mark.slow
@pytest.mark.parametrize("app", ["replay", "attach"])
def test_keys_over_the_websocket_draw_help_and_quit(tmp_path: Path, app: str):
    fixture = write_recording(tmp_path / "a served fixture's run.jsonl")  # quoting
    with served(app, str(fixture), cwd=tmp_path) as (url, server):
        assert url.startswith("http://127.0.0.1:") and "/?token=" in url
        page = asyncio.run(fetch(url))
        assert "fonts.googleapis" not in page and "RobotoMono" in page  # no internet needed
        drawn, helped, closed = asyncio.run(drive(url))
        assert drawn, "the dashboard never drew"
        assert helped, "the help screen never appeared after '?'"
        assert closed, "the session did not end after 'q'"
        # the app process ended with its session
        assert wait_until(lambda: not processes_mentioning(str(fixture), but=server.pid), WAIT)
    assert not processes_mentioning(str(fixture))


async def fetch(url: str, headers: dict[str, str] | None = None) -> str:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        assert response.status == 200
        return await response.text()


async def open_and_hold(url: str, stop) -> bool:
    """Open a session, wait for the dashboard, then stop the server with the tab still open."""
    held = ws_url(url, "width=100&height=30")
    async with aiohttp.ClientSession() as session, session.ws_connect(held) as websocket:
        drawn = await read_until(websocket, [], DRAWN_MARKER)
        stop()
        while True:  # the server closes the socket as it stops
            message = await asyncio.wait_for(websocket.receive(), WAIT)
            if message.type != aiohttp.WSMsgType.BINARY:
                return drawn


@pytest.mark.slow
def test_stopping_the_server_with_a_tab_open_ends_its_app(tmp_path: Path):
    import os
    import signal

    fixture = write_recording(tmp_path / "held-fixture.jsonl")
    with served("replay", str(fixture), cwd=tmp_path) as (url, server):
        assert asyncio.run(open_and_hold(url, lambda: os.kill(server.pid, signal.SIGINT)))
        assert server.wait(timeout=WAIT) == 0
    assert wait_until(lambda: not processes_mentioning(str(fixture)), WAIT)


@pytest.mark.slow
def test_the_page_points_at_the_address_the_browser_used(tmp_path: Path):
    """Through a tunnel the port may differ: the page's websocket URL follows the Host header."""
    fixture = write_recording(tmp_path / "host-fixture.jsonl")
    with served("replay", str(fixture), cwd=tmp_path) as (url, _server):
        page = asyncio.run(fetch(url, headers={"Host": "localhost:9999"}))
        assert 'data-session-websocket-url="ws://localhost:9999/ws"' in page
        assert "http://localhost:9999/static/" in page


@pytest.mark.slow
def test_a_host_header_that_is_not_an_address_is_not_written_into_the_page(tmp_path: Path):
    """Refused outright now (the guard takes only the server's own names), and never echoed."""
    fixture = write_recording(tmp_path / "evil-fixture.jsonl")
    with served("replay", str(fixture), cwd=tmp_path) as (url, _server):
        status, page = asyncio.run(fetch_any(url, headers={"Host": 'x"><script>alert(1)</script>'}))
        assert status == 403 and "<script>alert" not in page
        base, _token = split_url(url)
        page = asyncio.run(fetch(url))
        assert f'data-session-websocket-url="{base.replace("http", "ws")}/ws"' in page


async def fetch_any(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, await response.text()
