"""One event as one line of strict JSON, and back.

Non-finite floats are written as the strings "NaN", "Infinity" and "-Infinity", so every
line is strict JSON; the schema (recording.schema) reads them back as floats where a number
is expected, and nowhere else, so a message that says "NaN" stays a string.
"""

from __future__ import annotations

import json
import math
from typing import Any

from gradtui.events import Event, RunStarted, event_to_dict
from gradtui.recording.schema import BadEvent, checked_event


def _encode(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def event_to_json(event: Event) -> str:
    return json.dumps(_encode(event_to_dict(event)), separators=(",", ":"), allow_nan=False)


def event_from_json(line: str, version: int, started: RunStarted | None = None) -> Event:
    """The event of one line, checked against the schema (recording.schema); ``started`` is the
    run's RunStarted, which per-layer lengths are checked against. Raises BadEvent (a
    ValueError) naming the field, UnknownEvent for a type this reader does not know."""
    try:
        data = json.loads(line)
    except RecursionError:
        raise BadEvent("nested too deeply") from None
    except ValueError as exc:
        raise BadEvent(f"not JSON ({exc})") from None
    if version == 1 and isinstance(data, dict) and data.get("type") == "run_started":
        try:
            data = _run_started_from_v1(data)
        except (TypeError, ValueError, AttributeError):
            raise BadEvent("not a valid version 1 run_started") from None
    return checked_event(data, started)


def _run_started_from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept what the rules read about a run inside the untyped ``spec`` dict."""
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    watch = spec.get("watch") if isinstance(spec.get("watch"), dict) else None
    model = spec.get("model") if isinstance(spec.get("model"), dict) else {}
    train = spec.get("train") if isinstance(spec.get("train"), dict) else {}
    upgraded = dict(data)
    if watch is not None:
        world_size = watch.get("world_size", 1)
        upgraded.update(
            source="watch",
            model=watch.get("model", ""),
            rank=watch.get("rank") if world_size > 1 else None,
            world_size=world_size,
            spec={},
        )
    else:
        upgraded.update(
            source="scenario",
            batch=train.get("batch"),
            init=model.get("init", ""),
            optimizer=train.get("optimizer", ""),
        )
        if not upgraded.get("activation"):
            upgraded["activation"] = model.get("activation", "")
    return upgraded
