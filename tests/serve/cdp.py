"""Headless Chromium driven over the DevTools protocol, with aiohttp (textual-serve brings it):
just enough to open a page, read what its websocket received, press keys and screenshot.

python -m tests.serve.cdp URL OUT.png [SECONDS]   # a screenshot of a served dashboard, taken
                                                  # SECONDS after it drew (README pictures)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
WAIT = 60.0
WIDTH, HEIGHT = 1280, 800
# Runs in the page before its own scripts: keep the text of every websocket message received
# (the terminal's output), since xterm draws on a canvas and leaves no text in the page.
TAP = """
window.__received = "";
const decoder = new TextDecoder();
const Native = window.WebSocket;
window.WebSocket = function (...args) {
  const socket = new Native(...args);
  socket.addEventListener("message", (event) => {
    if (typeof event.data !== "string") {
      window.__received += decoder.decode(event.data, {stream: true});
    }
  });
  return socket;
};
window.WebSocket.prototype = Native.prototype;
Object.assign(window.WebSocket, Native);
"""
KEYS = {  # key: (code, virtual key code, modifiers: 8 = shift); letters and digits below
    "?": ("Slash", 191, 8),
    "_": ("Minus", 189, 8),
    " ": ("Space", 32, 0),
    "Enter": ("Enter", 13, 0),
    "Escape": ("Escape", 27, 0),
    "ArrowDown": ("ArrowDown", 40, 0),
}
TEXT = {" ": " ", "Enter": "\r"}  # what a key types; a named key other than these types none


def key_event(key: str) -> tuple[str, int, int]:
    """(code, virtual key code, modifiers) of a key: one of KEYS, a letter or a digit."""
    if key in KEYS:
        return KEYS[key]
    if len(key) == 1 and key.isascii() and key.isalnum():
        prefix = "Digit" if key.isdigit() else "Key"
        return f"{prefix}{key.upper()}", ord(key.upper()), 8 if key.isupper() else 0
    raise ValueError(f"no key event for {key!r}")


def find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


class Page:
    """One tab, attached with a flat session."""

    def __init__(self, websocket: aiohttp.ClientWebSocketResponse) -> None:
        self.websocket = websocket
        self.ids = itertools.count(1)
        self.session: str | None = None
        self.pending: dict[int, asyncio.Future] = {}
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.websocket:
            data = json.loads(message.data)
            future = self.pending.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(data)

    async def send(self, method: str, session: bool = True, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        message = {"id": ident, "method": method, "params": params}
        if session and self.session:
            message["sessionId"] = self.session
        future = asyncio.get_running_loop().create_future()
        self.pending[ident] = future
        await self.websocket.send_str(json.dumps(message))
        reply = await asyncio.wait_for(future, WAIT)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def wait_for(self, expression: str, timeout: float = WAIT) -> bool:
        """Poll a JavaScript expression until it is true; False at the timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if await self.evaluate(expression):
                return True
            await asyncio.sleep(0.25)
        return bool(await self.evaluate(expression))

    async def settle(self, quiet: float = 1.0, timeout: float = 5.0) -> None:
        """Wait until nothing new arrived for ``quiet`` seconds (the app stopped drawing)."""
        loop = asyncio.get_running_loop()
        deadline, last, since = loop.time() + timeout, -1, loop.time()
        while loop.time() < deadline:
            size = await self.evaluate("window.__received.length")
            if size != last:
                last, since = size, loop.time()
            elif loop.time() - since >= quiet:
                return
            await asyncio.sleep(0.2)

    async def press(self, key: str) -> None:
        await self.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
        code, vk, modifiers = key_event(key)
        common = {"key": key, "code": code, "windowsVirtualKeyCode": vk, "modifiers": modifiers}
        text = TEXT.get(key, key if len(key) == 1 else "")
        down = {"type": "keyDown", "text": text} if text else {"type": "rawKeyDown"}
        await self.send("Input.dispatchKeyEvent", **down, **common)
        await self.send("Input.dispatchKeyEvent", type="keyUp", **common)

    async def type(self, *keys: str) -> None:
        """Press each key in turn: a word's letters, or named keys such as Enter."""
        for key in keys:
            await self.press(key)

    async def screenshot(self, path: Path) -> Path:
        shot = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


@contextlib.asynccontextmanager
async def open_page(url: str, browser: str, profile: Path) -> AsyncIterator[Page]:
    """Start the browser, open ``url`` in a tab with the websocket tap; always end it."""
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-extensions", "--remote-debugging-port=0", f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}", "about:blank",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        endpoint = await asyncio.wait_for(asyncio.to_thread(_devtools_url, process), WAIT)
        async with aiohttp.ClientSession() as http, http.ws_connect(endpoint, max_msg_size=0) as ws:
            page = Page(ws)
            target = await page.send("Target.createTarget", url="about:blank")
            attached = await page.send(
                "Target.attachToTarget", targetId=target["targetId"], flatten=True
            )
            page.session = attached["sessionId"]
            await page.send("Page.enable")
            await page.send(
                "Emulation.setDeviceMetricsOverride",
                width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False,
            )  # fmt: skip
            await page.send("Page.addScriptToEvaluateOnNewDocument", source=TAP)
            await page.send("Page.navigate", url=url)
            try:
                yield page
            finally:
                page.reader.cancel()
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _devtools_url(process: subprocess.Popen) -> str:
    assert process.stderr is not None
    for raw in process.stderr:
        line = raw.decode("utf-8", "replace")
        if match := re.search(r"DevTools listening on (ws://\S+)", line):
            threading_drain(process)
            return match[1]
    raise RuntimeError(f"the browser exited (code {process.wait()}) without a DevTools address")


def threading_drain(process: subprocess.Popen) -> None:
    """Keep reading the browser's stderr so it never blocks on a full pipe."""
    import threading

    assert process.stderr is not None
    threading.Thread(target=process.stderr.read, daemon=True).start()


async def _screenshot(url: str, out: Path, wait: float) -> None:
    browser = find_browser()
    if browser is None:
        raise SystemExit("no Chromium found: apt-get install chromium-headless-shell")
    with tempfile.TemporaryDirectory() as profile:
        async with open_page(url, browser, Path(profile)) as page:
            await page.wait_for("document.body.classList.contains('-first-byte')")
            await asyncio.sleep(wait)  # let notifications time out
            await page.settle(quiet=2.0)
            await page.screenshot(out)


if __name__ == "__main__":
    asyncio.run(
        _screenshot(sys.argv[1], Path(sys.argv[2]), float(sys.argv[3] if len(sys.argv) > 3 else 0))
    )
