"""``gradtui serve launch`` in headless Chromium with live training: keys typed into the page
pick sigmoid_deep and run it, then compare it with relu_deep; steps arrive in both (200 steps
at 25 a second: still live when the page is photographed), and q ends the session with every
training process gone.

GRADTUI_SERVE_SHOT=screenshots/serve-live-compare.png also writes the compare's picture there
(the README's; look at it before committing it).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("textual_serve", reason="textual-serve is not installed: gradtui[serve]")

from tests.serve.cdp import Page, find_browser, open_page
from tests.serve.served import served, wait_until

WAIT = 120.0  # each worker imports torch first: long on a busy machine (a wait, not a measure)
BROWSER = find_browser()
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="no Chromium on this machine: apt-get install chromium-headless-shell",
)
FIRST, SECOND = "sigmoid_deep", "relu_deep"  # shipped, 200 steps each
STEPPING = r"(window.__received.match(/step [1-9][0-9]*\/200/g) || []).length"
LATER = r"/step (?:[6-9][0-9]|1[0-9][0-9])\/200/.test(window.__received)"  # step 60 or more


def workers_in_session(session: int) -> list[int]:
    """Pids of the training processes (multiprocessing spawns) in the server's session."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if stat[0] != "Z" and int(stat[3]) == session and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


async def steps_arrive(page: Page, count: int) -> bool:
    """``count`` header updates with a step above 0 reach the page (after a reset)."""
    return await page.wait_for(f"{STEPPING} >= {count}", WAIT)


async def session(url: str, tmp_path: Path, server_pid: int) -> dict[str, object]:
    assert BROWSER is not None
    seen: dict[str, object] = {}
    async with open_page(url, BROWSER, tmp_path / "profile") as page:
        seen["picker"] = await page.wait_for("window.__received.includes('pick a scenario')", WAIT)
        await page.settle()
        await page.type(*FIRST, "Enter")
        seen["live"] = await steps_arrive(page, 3)
        seen["dashboard"] = await page.screenshot(tmp_path / "serve-live.png")
        await page.evaluate("window.__received = ''")
        await page.press("c")  # back to the picker, the first run marked: mark one more, c
        await page.wait_for("window.__received.includes('pick a scenario')", WAIT)
        await page.settle()
        for keys in (SECOND, ["Escape"], " "):  # a pause after escape: not alt+space
            await page.type(*keys)
            await page.settle(quiet=0.5)
        await page.evaluate("window.__received = ''")
        await page.press("c")
        seen["compare"] = await page.wait_for("window.__received.includes('B · Loss')", WAIT)
        seen["both_live"] = await steps_arrive(page, 6)
        seen["workers"] = len(workers_in_session(server_pid))
        await page.wait_for(LATER, WAIT)  # a few seconds more, for a fuller picture
        await page.settle(quiet=0.3, timeout=1.0)
        seen["shot"] = await page.screenshot(tmp_path / "serve-live-compare.png")
        seen["compare_text"] = await page.evaluate("window.__received")
        await page.press("q")
        seen["ended"] = await page.wait_for("document.body.classList.contains('-closed')", WAIT)
    return seen


@pytest.mark.slow
def test_a_live_launch_then_a_live_compare_in_the_browser(tmp_path: Path):
    (tmp_path / "profile").mkdir()
    with served("launch", cwd=tmp_path) as (url, server):
        seen = asyncio.run(session(url, tmp_path, server.pid))
        assert seen["picker"], "the picker never drew in the browser"
        assert seen["live"], f"no step of {FIRST} reached the page"
        assert seen["compare"], "the compare screen never drew"
        assert seen["both_live"], "steps stopped arriving in the compare"
        assert FIRST in str(seen["compare_text"]) and SECOND in str(seen["compare_text"])
        assert seen["workers"] == 2, f"{seen['workers']} training processes during the compare"
        shot = seen["shot"]
        assert isinstance(shot, Path) and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert seen["ended"], "the session did not end on 'q'"
        assert wait_until(lambda: not workers_in_session(server.pid), WAIT), "a worker is left"
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
    if target := os.environ.get("GRADTUI_SERVE_SHOT"):
        shutil.copyfile(shot, target)
