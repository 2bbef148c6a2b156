"""Serve the Textual dashboard to a browser with textual-serve.

Each browser tab gets its own app process (``python -m gradtui ...``), driven over a
websocket. What we add to textual-serve's ``Server``:

- our own page template, which loads the Roboto Mono font from the package's own static
  files, so the page needs no internet (textual-serve's links a remote web font);
- the app processes are tracked, and ended with the server: otherwise a tab left open keeps
  the server waiting tens of seconds at shutdown;
- the command is quoted for the shell textual-serve runs it through;
- a free port is picked when none is given (the port is written into the page, so the
  server cannot be told to listen on port 0 and find out later), and the page's URLs are made
  from the address the browser used (an SSH tunnel may map the port to another).
"""

from __future__ import annotations

import asyncio
import logging
import re
import shlex
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import textual_serve
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

TEMPLATES = Path(__file__).parent / "templates"
STATICS = Path(textual_serve.__file__).parent / "static"
HOST = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")  # the Host header
QUIT_WAIT_SECONDS = 2.0  # an app asked to quit gets this long before it is terminated

log = logging.getLogger("gradtui.serve")


def free_port(host: str) -> int:
    """A port nothing listens on now (the OS picks it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def app_command(app_args: Sequence[str]) -> str:
    """The shell command that runs one app process: this Python, ``-m gradtui``, the args.
    ``exec``: the shell becomes the app, so ending the process ends the app itself."""
    return "exec " + shlex.join([sys.executable, "-m", "gradtui", *app_args])


def banner(url: str, host: str, port: int) -> str:
    lines = [
        f"gradtui serve: open {url} in a browser (ctrl-c stops the server)",
        "There is no authentication: anyone who can reach this port can drive the app, and each",
        "browser tab starts its own app process.",
    ]
    if host in ("127.0.0.1", "localhost", "::1"):
        lines.append(
            f"From another machine, forward the port over SSH: ssh -L {port}:127.0.0.1:{port} "
            "USER@THIS_HOST, then open the same URL there."
        )
    return "\n".join(lines)


class TrackedAppService(AppService):
    """An AppService whose process the server can end."""

    async def terminate(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        await self.send_meta({"type": "quit"})
        try:
            await asyncio.wait_for(process.wait(), QUIT_WAIT_SECONDS)
        except TimeoutError:
            process.terminate()
            await process.wait()


class GradtuiServer(Server):
    def __init__(self, app_args: Sequence[str], host: str, port: int) -> None:
        super().__init__(
            app_command(app_args),
            host=host,
            port=port,
            title="gradtui " + " ".join(app_args),
            statics_path=STATICS,
            templates_path=TEMPLATES,
        )
        self.services: set[TrackedAppService] = set()
        self.sockets: set[web.WebSocketResponse] = set()

    def initialize_logging(self) -> None:
        logging.basicConfig(level=logging.WARNING, format="gradtui serve: %(message)s")

    async def on_startup(self, app: web.Application) -> None:
        print(banner(self.public_url, self.host, self.port), flush=True)

    async def on_shutdown(self, app: web.Application) -> None:
        """End every app process and close every tab's websocket, so shutdown is quick."""
        await asyncio.gather(*(service.terminate() for service in list(self.services)))
        for websocket in list(self.sockets):
            await websocket.close(code=1001, message=b"server stopped")

    @aiohttp_jinja2.template("app_index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        """textual-serve's page, its URLs made from the address the browser used: through an
        SSH tunnel to another local port, or a server on 0.0.0.0, the page still reaches us."""
        if HOST.fullmatch(request.host):  # a name or address and a port, nothing else
            self.public_url = f"{request.scheme}://{request.host}"
        else:
            self.public_url = f"http://{self.host}:{self.port}"
        return await Server.handle_index.__wrapped__(self, request)  # the undecorated one

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's handler, with the app service and socket tracked."""
        websocket = web.WebSocketResponse(heartbeat=15)
        width = _int(request.query.get("width"), 80)
        height = _int(request.query.get("height"), 24)
        service: TrackedAppService | None = None
        try:
            await websocket.prepare(request)
            self.sockets.add(websocket)
            service = TrackedAppService(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            self.services.add(service)
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception:
            log.exception("a browser session failed")
        finally:
            if service is not None:
                await service.stop()
                self.services.discard(service)
            self.sockets.discard(websocket)
        return websocket


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def serve(app_args: Sequence[str], host: str = "127.0.0.1", port: int | None = None) -> int:
    """Serve ``gradtui APP_ARGS`` until interrupted. Returns the exit code."""
    chosen = port if port else free_port(host)
    GradtuiServer(app_args, host, chosen).serve()
    return 0
