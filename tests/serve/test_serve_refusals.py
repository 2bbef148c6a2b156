"""A real ``gradtui serve`` and a real websocket client: what another page, a foreign host
name, a missing token, a full server and odd requests get; and the failures to start."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

pytest.importorskip("textual_serve", reason="textual-serve is not installed: gradtui[serve]")

import aiohttp

from gradtui.cli import main
from tests.serve.recording import write_recording
from tests.serve.served import served, split_url
from tests.serve.test_serve_websocket import DRAWN_MARKER, read_until

WAIT = 60.0


async def handshake(url: str, **headers: str) -> int:
    """The status a websocket handshake gets (101 when it is taken)."""
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(url, headers=headers) as websocket,
        ):
            await websocket.close()
            return 101
    except aiohttp.WSServerHandshakeError as exc:
        return exc.status


async def get(url: str, **headers: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as reply:
        return reply.status, await reply.text()


async def refusals(url: str) -> dict[str, object]:
    base, token = split_url(url)
    ws = base.replace("http://", "ws://") + "/ws"
    port = base.rsplit(":", 1)[1]
    return {
        "evil origin": await handshake(f"{ws}?token={token}", Origin="http://evil.example"),
        "other port": await handshake(f"{ws}?token={token}", Origin="http://127.0.0.1:1"),
        "no token": await handshake(ws, Origin=base),
        "foreign host": await get(url, Host=f"evil.example:{port}"),
        "no token page": await get(base + "/"),
        "plain /ws": await get(f"{ws.replace('ws://', 'http://')}?token={token}"),
        "long path": await get(base + "/static/" + "a" * 8000),
        "long name": await get(base + "/static/" + "a" * 300),
        "proxy": await handshake(f"{ws}?token={token}", Origin="https://proxy.example"),
    }


@pytest.mark.slow
def test_other_pages_hosts_and_odd_requests_are_refused_in_one_line(tmp_path: Path):
    fixture = write_recording(tmp_path / "refused.jsonl")
    with served(
        "replay", str(fixture), "--allow-origin", "https://proxy.example", cwd=tmp_path
    ) as (url, _server):
        seen = asyncio.run(refusals(url))
        log = (tmp_path / "serve.log").read_text()  # before the stop interrupts the proxy's app
    assert seen["evil origin"] == seen["other port"] == seen["no token"] == 403
    assert seen["foreign host"][0] == 403 and seen["no token page"][0] == 403
    assert seen["plain /ws"][0] == 400
    assert seen["long path"][0] in (404, 414) and seen["long name"][0] == 404
    assert seen["proxy"] == 101  # let in on purpose with --allow-origin
    assert "Traceback" not in log and "Error handling request" not in log, log


async def fill(url: str) -> dict[str, object]:
    """With --max-sessions 1: one session draws, a second is closed with a reason."""
    base, token = split_url(url)
    ws = base.replace("http://", "ws://") + f"/ws?token={token}&width=80&height=24"
    seen: dict[str, object] = {}
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(ws, headers={"Origin": base}) as first:
            seen["first drew"] = await read_until(first, [], DRAWN_MARKER)
            async with session.ws_connect(ws) as second:
                message = await asyncio.wait_for(second.receive(), WAIT)
                seen["second"] = (message.type, second.close_code, message.extra)
            seen["page when full"] = await get(url)
        seen["page after"] = await get(url)
    return seen


@pytest.mark.slow
def test_a_full_server_says_so_on_the_page_and_the_socket(tmp_path: Path):
    fixture = write_recording(tmp_path / "full.jsonl")
    with served("replay", str(fixture), "--max-sessions", "1", cwd=tmp_path) as (url, _server):
        seen = asyncio.run(fill(url))
    assert seen["first drew"], "the server's own origin should open a session"
    kind, code, reason = seen["second"]
    assert kind == aiohttp.WSMsgType.CLOSE and code == 1013 and "--max-sessions" in reason
    status, text = seen["page when full"]
    assert status == 503 and "--max-sessions" in text and text.count("\n") == 1
    assert seen["page after"][0] in (200, 503)  # the first session may still be ending


def test_a_taken_port_is_one_line_naming_it(tmp_path: Path, capsys):
    fixture = write_recording(tmp_path / "taken.jsonl")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "replay", str(fixture), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("host", "reason"),
    [("192.0.2.1", "Cannot assign requested address"), ("no such host", "")],  # DNS words vary,
)
def test_a_bad_host_is_one_line_naming_it(tmp_path: Path, capsys, host: str, reason: str):
    fixture = write_recording(tmp_path / "host.jsonl")
    assert main(["serve", "--host", host, "replay", str(fixture)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on {host}" in err and reason in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["--allow-origin", "proxy.example"], "is not an origin"),
        (["--max-sessions", "0"], "--max-sessions takes a number from 1"),
        (["--port", "x"], "--port takes a whole number"),
    ],
)
def test_bad_server_options_are_one_line(tmp_path: Path, capsys, words, message):
    fixture = write_recording(tmp_path / "opts.jsonl")
    assert main(["serve", "replay", str(fixture), *words]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_textual_serve_without_a_private_name_is_one_line(tmp_path: Path, capsys, monkeypatch):
    from textual_serve.server import Server

    fixture = write_recording(tmp_path / "upgrade.jsonl")
    monkeypatch.delattr(Server, "_process_messages")
    assert main(["serve", "replay", str(fixture)]) == 2
    err = capsys.readouterr().err
    assert "no Server._process_messages" in err and err.count("\n") == 1
