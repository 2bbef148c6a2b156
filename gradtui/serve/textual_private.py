"""Every use of textual-serve's private names, in one place. Each wrapper names what is
missing when an upgrade removes it, rather than failing somewhere inside a request."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server


class TextualServeChanged(RuntimeError):
    pass


def _private(owner: type, name: str, attribute: str | None = None) -> Any:
    found = getattr(owner, name, None)
    if attribute is not None:
        found = getattr(found, attribute, None)
    if found is None:
        shown = f"{owner.__name__}.{name}" + (f".{attribute}" if attribute else "")
        raise TextualServeChanged(
            f"this textual-serve has no {shown}, which gradtui serve uses "
            "(docs/private-apis.md): install the textual-serve version gradtui was tested with"
        )
    return found


def check() -> None:
    """Fail now, before the server starts, when any of the names is gone."""
    _private(Server, "handle_index", "__wrapped__")
    _private(Server, "_make_app")
    _private(Server, "_process_messages")


async def index_context(server: Server, request: web.Request) -> dict[str, Any]:
    """textual-serve's index handler without its template decorator: the page's context."""
    return await _private(Server, "handle_index", "__wrapped__")(server, request)


async def make_app(server: Server) -> web.Application:
    """textual-serve's aiohttp application (its routes and startup hooks)."""
    return await _private(Server, "_make_app")(server)


async def process_messages(server: Server, websocket: web.WebSocketResponse, service) -> None:
    """textual-serve's loop that passes a browser's keys and resizes to the app."""
    await _private(Server, "_process_messages")(server, websocket, service)


def process_of(service: AppService) -> Any:
    """The app's process, or None before it started."""
    if not hasattr(service, "_process"):
        _private(AppService, "_process")  # raises, naming it
    return service._process
