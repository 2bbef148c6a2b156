"""``gradtui serve`` in a real browser: headless Chromium over the DevTools protocol opens the
served replay, sees it draw, presses ? for the help and q to end the session."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("textual_serve", reason="textual-serve is not installed: gradtui[serve]")

from tests.serve.cdp import find_browser, open_page
from tests.serve.recording import write_recording
from tests.serve.served import processes_mentioning, served, split_url, wait_until

WAIT = 90.0
HELP = "Reading the dashboard"  # the help screen's title (not on the dashboard)
BROWSER = find_browser()
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="no Chromium on this machine: apt-get install chromium-headless-shell "
    "(.ci/run installs it when it can)",
)


async def session(url: str, tmp_path: Path) -> dict[str, object]:
    assert BROWSER is not None
    seen: dict[str, object] = {}
    async with open_page(url, BROWSER, tmp_path / "profile") as page:
        seen["drawn"] = await page.wait_for(
            "document.body.classList.contains('-first-byte') && "
            "window.__received.includes('served')",
            WAIT,
        )
        await page.settle()
        seen["font"] = await page.evaluate(
            "[...document.fonts].some(f => f.family.includes('Roboto Mono') && "
            "f.status === 'loaded')"
        )
        seen["help_before_key"] = await page.evaluate(f"window.__received.includes('{HELP}')")
        seen["before"] = await page.screenshot(tmp_path / "dashboard.png")
        await page.evaluate("window.__received = ''")
        await page.press("?")
        seen["help"] = await page.wait_for(f"window.__received.includes('{HELP}')", WAIT)
        await page.settle()
        seen["after"] = await page.screenshot(tmp_path / "help.png")
        await page.press("q")
        seen["ended"] = await page.wait_for("document.body.classList.contains('-closed')", WAIT)
        seen["ended_text"] = await page.evaluate(
            "getComputedStyle(document.querySelector('.closed-dialog')).display"
        )
    return seen


@pytest.mark.slow
def test_the_served_dashboard_in_headless_chromium(tmp_path: Path):
    fixture = write_recording(tmp_path / "browser-fixture.jsonl")
    (tmp_path / "profile").mkdir()
    with served("replay", str(fixture), cwd=tmp_path) as (url, server):
        seen = asyncio.run(session(url, tmp_path))
        assert seen["drawn"], "the dashboard never drew in the browser"
        before, after = seen["before"], seen["after"]
        assert isinstance(before, Path) and before.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert seen["font"], "the terminal font did not load from the server's static files"
        assert not seen["help_before_key"]
        assert seen["help"], "the help text never reached the page after '?'"
        assert isinstance(after, Path) and after.read_bytes() != before.read_bytes()
        assert seen["ended"] and seen["ended_text"] == "flex", "the session did not end on 'q'"
        assert wait_until(lambda: not processes_mentioning(str(fixture), but=server.pid), WAIT)
    assert not processes_mentioning(str(fixture))
    assert not processes_mentioning(str(tmp_path / "profile"))  # the browser is gone too


FOREIGN_PAGE = """<!DOCTYPE html><html><body><script>
window.attempts = {};
function attempt(name, url) {
  window.attempts[name] = "pending";
  const socket = new WebSocket(url);
  socket.onopen = () => { window.attempts[name] = "open"; socket.close(); };
  socket.onclose = () => {
    if (window.attempts[name] === "pending") window.attempts[name] = "refused";
  };
}
attempt("cookie", "WS?width=80&height=24");
attempt("token", "WS?token=TOKEN&width=80&height=24");
</script></body></html>"""


@contextlib.contextmanager
def foreign_site(page: str) -> Iterator[str]:
    """Another web site on this machine (another port), serving one page."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


async def own_then_foreign(url: str, foreign: str, tmp_path: Path) -> dict[str, object]:
    """The server's own page draws (and leaves its cookie); then, in the same browser, a page
    of another origin tries the websocket with that cookie, and with the token itself."""
    assert BROWSER is not None
    async with open_page(url, BROWSER, tmp_path / "profile") as page:
        drawn = await page.wait_for("window.__received.includes('served')", WAIT)
        await page.send("Page.navigate", url=foreign)
        await page.wait_for(
            "window.attempts && Object.values(window.attempts).every(v => v !== 'pending')", WAIT
        )
        attempts = await page.evaluate("window.attempts")
    return {"drawn": drawn, "attempts": attempts}


@pytest.mark.slow
def test_a_page_of_another_origin_cannot_open_a_session(tmp_path: Path):
    fixture = write_recording(tmp_path / "foreign-fixture.jsonl")
    (tmp_path / "profile").mkdir()
    with served("replay", str(fixture), cwd=tmp_path) as (url, server):
        base, token = split_url(url)
        ws = base.replace("http://", "ws://") + "/ws"
        page = FOREIGN_PAGE.replace("WS", ws).replace("TOKEN", token)
        with foreign_site(page) as foreign:
            seen = asyncio.run(own_then_foreign(url, foreign, tmp_path))
        assert seen["drawn"], "the server's own page did not draw"
        assert seen["attempts"] == {"cookie": "refused", "token": "refused"}
        assert wait_until(lambda: not processes_mentioning(str(fixture), but=server.pid), WAIT)
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
