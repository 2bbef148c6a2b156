"""One event as one line of strict JSON, and back.

Non-finite floats are written as the strings "NaN", "Infinity" and "-Infinity", so every
line is strict JSON, and read back as floats.
"""

from __future__ import annotations

import json
import math
from typing import Any

from gradtui.events import Event, event_from_dict, event_to_dict

_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _encode(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value in _NONFINITE:
        return _NONFINITE[value]
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def event_to_json(event: Event) -> str:
    return json.dumps(_encode(event_to_dict(event)), separators=(",", ":"), allow_nan=False)


def event_from_json(line: str, version: int) -> Event:
    """Raises ValueError, KeyError or TypeError on a line that is not a valid event."""
    data = _decode(json.loads(line))
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if version == 1 and data.get("type") == "run_started":
        data = _run_started_from_v1(data)
    return event_from_dict(data)


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
