"""Checkers for one field of a decoded recording line: each returns the value or raises
BadEvent naming the field. Shared by the event checkers in ``schema``. No torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from gradtui.recording.limits import MAX_INT, MAX_LAYERS

# How the writer spells non-finite floats, so every line stays strict JSON.
NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class BadEvent(ValueError):
    """A line that is not a valid event; the message names the field."""


class UnknownEvent(BadEvent):
    """A well-formed line of an event type this reader does not know."""


_MISSING = object()


def field(data: dict[str, Any], key: str, default: Any = _MISSING) -> Any:
    if key in data:
        return data[key]
    if default is _MISSING:
        raise BadEvent(f"{key}: required field is missing")
    return default


def integer(value: Any, key: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadEvent(f"{key}: expected an integer, got {type(value).__name__}")
    if not low <= value <= MAX_INT:
        raise BadEvent(f"{key}: {value} is out of range")
    return value


def number(value: Any, key: str) -> float:
    if isinstance(value, str) and value in NONFINITE:
        return NONFINITE[value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadEvent(f"{key}: expected a number, got {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:
        raise BadEvent(f"{key}: number too large") from None


def number_or_none(value: Any, key: str) -> float | None:
    return None if value is None else number(value, key)


def fraction_or_none(value: Any, key: str) -> float | None:
    if value is None:
        return None
    fraction = number(value, key)
    if not (math.isfinite(fraction) and 0.0 <= fraction <= 1.0):
        raise BadEvent(f"{key}: expected a fraction in [0, 1], got {fraction}")
    return fraction


def setting(value: Any, key: str) -> float | None:
    """An optimizer setting (lr, eps, weight decay): None, or a finite number >= 0."""
    if value is None:
        return None
    found = number(value, key)
    if not (math.isfinite(found) and found >= 0.0):
        raise BadEvent(f"{key}: expected a finite number >= 0, got {found}")
    return found


def seconds(value: Any, key: str) -> float | None:
    """A duration: None, or a finite number of seconds >= 0."""
    return setting(value, key)


def text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise BadEvent(f"{key}: expected a string, got {type(value).__name__}")
    return value


def text_or_none(value: Any, key: str) -> str | None:
    return None if value is None else text(value, key)


def names(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_LAYERS:
        raise BadEvent(f"{key}: expected a list of names")
    return tuple(text(name, f"{key}[{i}]") for i, name in enumerate(value))


def row(value: Any, key: str, length: int, item: Callable[[Any, str], Any]) -> tuple:
    if not isinstance(value, list):
        raise BadEvent(f"{key}: expected a list, got {type(value).__name__}")
    if len(value) != length:
        raise BadEvent(f"{key}: expected {length} values, got {len(value)}")
    return tuple(item(v, f"{key}[{i}]") for i, v in enumerate(value))


def row_or_none(value: Any, key: str, length: int, item: Callable[[Any, str], Any]):
    return None if value is None else row(value, key, length, item)
