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
  from the address the browser used (an SSH tunnel may map the port to another);
- a guard (``guard.py``) in front of every request: the server's own host names, its token and
  its own origin only, and a cap on the number of sessions (each one is an app process).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shlex
import signal
import socket
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import textual_serve
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from gradtui.serve import textual_private
from gradtui.serve.guard import LOOPBACK, Guard

TEMPLATES = Path(__file__).parent / "templates"
STATICS = Path(textual_serve.__file__).parent / "static"
HOST = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")  # the Host header
QUIT_WAIT_SECONDS = 2.0  # an app asked to quit gets this long before it is terminated
MAX_SESSIONS = 4  # each session is a Python process with torch and Textual loaded
TRY_AGAIN_LATER = 1013  # the websocket close code for a server too busy to take a session

log = logging.getLogger("gradtui.serve")


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: one the OS picks). OSError when it cannot
    be had: the name does not resolve, the address is not this machine's, the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if host and ":" not in host:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family, backlog=128)


def app_command(app_args: Sequence[str]) -> str:
    """The shell command that runs one app process: this Python, ``-m gradtui``, the args.
    ``exec``: the shell becomes the app, so ending the process ends the app itself."""
    return "exec " + shlex.join([sys.executable, "-m", "gradtui", *app_args])


def banner(url: str, host: str, port: int, max_sessions: int) -> str:
    lines = [
        f"gradtui serve: open {url} in a browser (ctrl-c stops the server)",
        "Only this URL's token opens it, and only from its own page; each browser tab starts "
        f"its own app process, {max_sessions} at most.",
    ]
    if host in LOOPBACK:
        lines.append(
            f"From another machine, forward the port over SSH: ssh -L {port}:127.0.0.1:{port} "
            "USER@THIS_HOST, then open the same URL there."
        )
    return "\n".join(lines)


class TrackedAppService(AppService):
    """An AppService whose process the server can end."""

    async def terminate(self) -> None:
        process = textual_private.process_of(self)
        if process is None or process.returncode is not None:
            return
        await self.send_meta({"type": "quit"})
        try:
            await asyncio.wait_for(process.wait(), QUIT_WAIT_SECONDS)
        except TimeoutError:
            process.terminate()
            await process.wait()


class GradtuiServer(Server):
    def __init__(
        self,
        app_args: Sequence[str],
        host: str,
        port: int,
        allow_origins: Iterable[str] = (),
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        super().__init__(
            app_command(app_args),
            host=host,
            port=port,
            title="gradtui " + " ".join(app_args),
            public_url=f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}",
            statics_path=STATICS,
            templates_path=TEMPLATES,
        )
        self.guard = Guard(host, port, allow_origins)
        self.max_sessions = max_sessions
        self.services: set[TrackedAppService] = set()
        self.sockets: set[web.WebSocketResponse] = set()
        self.failed: list[int] = []  # the exit status of each app process that failed

    @property
    def url(self) -> str:
        """The URL to open: the server's address and its token."""
        return f"{self.public_url}/?token={self.guard.token}"

    def initialize_logging(self) -> None:
        logging.basicConfig(level=logging.WARNING, format="gradtui serve: %(message)s")

    async def _make_app(self) -> web.Application:
        app = await textual_private.make_app(self)
        app.middlewares.append(self.guard.middleware)
        return app

    async def on_startup(self, app: web.Application) -> None:
        print(banner(self.url, self.host, self.port, self.max_sessions), flush=True)

    async def on_shutdown(self, app: web.Application) -> None:
        """End every app process and close every tab's websocket, so shutdown is quick."""
        await asyncio.gather(*(service.terminate() for service in list(self.services)))
        for websocket in list(self.sockets):
            await websocket.close(code=1001, message=b"server stopped")

    def full(self) -> str | None:
        """Why no session can start now, or None."""
        if len(self.sockets) < self.max_sessions:
            return None
        return (
            f"gradtui serve: {len(self.sockets)} sessions are open, the most this server takes; "
            "close a tab, or restart it with a larger --max-sessions"
        )

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """textual-serve's page, its URLs made from the address the browser used: through an
        SSH tunnel to another local port, or a server on 0.0.0.0, the page still reaches us."""
        if (busy := self.full()) is not None:
            return web.Response(status=503, text=busy + "\n")
        if HOST.fullmatch(request.host):  # a name or address and a port, nothing else
            self.public_url = f"{request.scheme}://{request.host}"
        else:
            self.public_url = f"http://{self.host}:{self.port}"
        context = await textual_private.index_context(self, request)
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        """textual-serve's handler, with the app service and socket tracked and counted."""
        websocket = web.WebSocketResponse(heartbeat=15)
        if not websocket.can_prepare(request).ok:
            return web.Response(status=400, text="gradtui serve: /ws takes websockets only\n")
        await websocket.prepare(request)
        if self.full() is not None:
            reason = f"gradtui serve is full: {len(self.sockets)} sessions (--max-sessions)"
            await websocket.close(code=TRY_AGAIN_LATER, message=reason.encode())
            return websocket
        self.sockets.add(websocket)
        try:
            await self._run_session(request, websocket)
        finally:
            self.sockets.discard(websocket)
        return websocket

    async def _run_session(self, request: web.Request, websocket: web.WebSocketResponse) -> None:
        service = TrackedAppService(
            self.command,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            debug=self.debug,
        )
        self.services.add(service)
        try:
            width = _int(request.query.get("width"), 80)
            await service.start(width, _int(request.query.get("height"), 24))
            await textual_private.process_messages(self, websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception:
            log.exception("a browser session failed")
        finally:
            await service.stop()
            self.services.discard(service)
            await self._note_ending(service)

    async def _note_ending(self, service: TrackedAppService) -> None:
        """Say when a session's app failed (a crashed screen exits 1), and keep its status for
        the server's own: an app the server stopped, or that quit, is not a failure."""
        process = textual_private.process_of(service)
        if process is None:
            return
        try:
            status = await asyncio.wait_for(process.wait(), QUIT_WAIT_SECONDS)
        except TimeoutError:
            return  # still ending; the server's shutdown terminates it
        if 0 < status < 128:  # 128 + N: ended by signal N, as the server's shutdown does
            self.failed.append(status)
            log.warning("a browser session's app failed with exit status %d (see above)", status)

    def serve_on(self, listener: socket.socket) -> None:
        """textual-serve's ``serve``, on a socket already bound (so a failure to bind is ours
        to report, before the banner)."""
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        for signal_name in ("SIGINT", "SIGTERM"):
            loop.add_signal_handler(getattr(signal, signal_name), self.request_exit)
        web.run_app(self._make_app(), sock=listener, handle_signals=False, loop=loop, print=None)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def serve(
    app_args: Sequence[str],
    host: str = "127.0.0.1",
    port: int | None = None,
    allow_origins: Iterable[str] = (),
    max_sessions: int = MAX_SESSIONS,
) -> int:
    """Serve ``gradtui APP_ARGS`` until interrupted. Returns the exit code: 0, or 1 when any
    session's app failed (its screen crashed)."""
    address = f"{host}:{port}" if port else f"{host} (a free port)"
    try:
        textual_private.check()
        listener = listen(host, port or 0)
    except textual_private.TextualServeChanged as exc:
        print(f"gradtui serve: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else exc.strerror or exc
        print(f"gradtui serve: cannot listen on {address}: {reason}", file=sys.stderr)
        return 2
    chosen = int(listener.getsockname()[1])
    server = GradtuiServer(app_args, host, chosen, allow_origins, max_sessions)
    server.serve_on(listener)
    if server.failed:
        print(f"gradtui serve: {len(server.failed)} session(s) failed", file=sys.stderr)
        return 1
    return 0
