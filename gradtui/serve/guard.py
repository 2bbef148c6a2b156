"""Who may use a ``gradtui serve``: an aiohttp middleware that refuses

- a request whose Host header names another machine (a DNS-rebinding page uses its own name);
- a request without the server's token (in the printed URL's query, then in a cookie);
- a websocket handshake from a page of another origin (any site the user visits could
  otherwise drive the app and read the screen);
- a path too long to be one of ours (414), or with a part too long to be a file name (404),
  rather than an error from the file system.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import web

LOOPBACK = ("localhost", "127.0.0.1", "::1")
ANY = ("0.0.0.0", "::", "")
MAX_PATH = 1024  # longer than any URL the page uses
MAX_NAME = 255  # the longest file name most file systems allow: longer is an OSError, not a 404
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_token() -> str:
    return secrets.token_urlsafe(24)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower case; ValueError when it has no host."""
    parts = urlsplit(url.strip().lower())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an origin like https://proxy.example:8443")
    return f"{parts.scheme}://{parts.netloc}"


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    """The server's own names, its token and the origins let in on purpose."""

    def __init__(self, host: str, port: int, allow_origins: Iterable[str] = ()) -> None:
        self.host, self.port = host, port
        self.token = new_token()
        self.cookie = f"gradtui-serve-{port}"  # cookies ignore ports: one name per server
        self.origins = {origin_of(origin) for origin in allow_origins}
        self.names = {host.lower(), *(urlsplit(o).hostname or "" for o in self.origins)}
        if host in LOOPBACK:
            self.names.update(LOOPBACK)
        elif host in ANY:
            self.names.update(("localhost", socket.gethostname().lower(), socket.getfqdn().lower()))

    def host_allowed(self, host: str) -> bool:
        name = urlsplit("//" + host).hostname if host else None
        if not name:
            return False
        return name in self.names or (self.host in ANY and _is_address(name))

    def origin_allowed(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:  # not a browser: the token decides
            return True
        try:
            origin = origin_of(origin)
        except ValueError:
            return False
        return origin in self.origins or origin == f"{request.scheme}://{request.host.lower()}"

    def token_given(self, request: web.Request) -> str | None:
        """The token the request carries, when it is the right one."""
        for given in (request.query.get("token"), request.cookies.get(self.cookie)):
            if given and hmac.compare_digest(given.encode(), self.token.encode()):
                return given
        return None

    def refusal(self, request: web.Request) -> web.Response | None:
        """The response that refuses ``request``, or None to let it through."""
        if len(request.raw_path) > MAX_PATH:
            return web.Response(status=414, text="gradtui serve: that URL is too long\n")
        if any(len(part) > MAX_NAME for part in request.path.split("/")):
            return web.Response(status=404, text="gradtui serve: no such file\n")
        if not self.host_allowed(request.host):
            return _forbidden("this server does not answer to that host name")
        if request.path.startswith("/static/"):
            return None  # the page's scripts and fonts: the same for everyone
        if request.path == "/ws" and not self.origin_allowed(request):
            return _forbidden("a page of another origin may not open a session (--allow-origin)")
        if self.token_given(request) is None:
            return _forbidden("open the URL with the token that gradtui serve printed")
        return None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        refused = self.refusal(request)
        if refused is not None:
            return refused
        response = await handler(request)
        if request.query.get("token") and not response.prepared:
            response.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict")
        return response


def _forbidden(reason: str) -> web.Response:
    return web.Response(status=403, text=f"gradtui serve: {reason}\n")
