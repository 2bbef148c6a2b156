"""An error inside gradtui must never break the user's training.

Everything the monitor runs (its hooks inside the user's forward and backward, and its own
methods) goes through one ``Guard``: the first exception is logged once, with its traceback,
the guard trips, and the monitor's ``on_trip`` callback takes every hook away. After that the
wrapped functions return at once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger("gradtui.watch")
F = TypeVar("F", bound=Callable[..., Any])


class Guard:
    def __init__(self, on_trip: Callable[[], None]) -> None:
        self.tripped = False
        self._on_trip = on_trip

    def wrap(self, fn: F) -> F:
        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if self.tripped:
                return None
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                self.trip(exc)
                return None

        return guarded  # type: ignore[return-value]

    def trip(self, exc: BaseException) -> None:
        if self.tripped:
            return
        self.tripped = True
        log.error(
            "gradtui.watch stopped watching after an internal error (%s: %s); your training "
            "goes on unchanged. Please report this with the traceback below.",
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
        try:
            self._on_trip()
        except Exception:  # cleaning up must not raise either
            log.debug("cleanup after the error failed too", exc_info=True)
