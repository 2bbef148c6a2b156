"""One event as one line of strict JSON, and back.

Non-finite floats are written as the strings "NaN", "Infinity" and "-Infinity", so every
line is strict JSON; the schema (recording.schema) reads them back as floats where a number
is expected, and nowhere else, so a message that says "NaN" stays a string.

A step (the event written thousands of times) is encoded straight from its fields, without
``dataclasses.asdict``'s deep copy: its per-layer and per-block values with ``LAYER_DIGITS``
significant digits (the norms are float32 measurements, and every rule compares them in
decades), the scalars in full, and fields still at their default value left out.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import MISSING, asdict, fields
from typing import Any

from gradtui.events import Event, RunStarted, StepStats, event_to_dict
from gradtui.recording.schema import BadEvent, checked_event


def _encode(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def event_to_json(event: Event, layer_digits: int | None = None) -> str:
    """One line of JSON. With ``layer_digits``, a step's per-layer and per-block values are
    rounded to that many significant digits (see ``step_to_json``)."""
    if layer_digits is not None and type(event) is StepStats:
        return step_to_json(event, layer_digits)
    return json.dumps(_encode(event_to_dict(event)), separators=(",", ":"), allow_nan=False)


LAYER_DIGITS = 4
_NONFINITE_TEXT = {math.inf: '"Infinity"', -math.inf: '"-Infinity"'}
# (name, default, '"name":') of each StepStats field, in declaration order; the default is
# MISSING when the field is required.
_STEP_FIELDS = [(f.name, f.default, f'"{f.name}":') for f in fields(StepStats)]


def _number(value: Any) -> str:
    """A scalar in full: a float's repr round-trips exactly."""
    if value is None:
        return "null"
    if isinstance(value, float):
        if value != value:
            return '"NaN"'
        return _NONFINITE_TEXT.get(value) or repr(value)
    if isinstance(value, int | bool):
        return "true" if value is True else "false" if value is False else str(value)
    return json.dumps(value)


# The last text of each per-layer field, by the tuple it was made from: a watched run hands
# the same tuple object over on step after step (weights' norms kept between reads, no
# non-finite entries), and it is then written again without formatting it again.
_LAST_ROWS: dict[str, tuple[tuple, str, str]] = {}


def _row_text(name: str, values: tuple, spec: str) -> str:
    last = _LAST_ROWS.get(name)
    if last is not None and last[0] is values and last[1] == spec:
        return last[2]
    text = _values(values, spec)
    _LAST_ROWS[name] = (values, spec, text)
    return text


@functools.cache
def _row_format(spec: str, count: int) -> str:
    return ",".join([spec] * count)


def _values(values: tuple, spec: str) -> str:
    """A per-layer tuple as a JSON array: floats in ``spec`` ('%.4g') with the exponent
    unpadded (1.235e-5), counts exact, None as null. One format call for the whole row (one
    per value when a None is among them), then a few replacements over the whole array."""
    if not values:
        return "[]"
    if type(values[0]) is int:
        spec = "%d"
    if None in values:
        text = ",".join(["null" if v is None else spec % v for v in values])
    else:
        text = _row_format(spec, len(values)) % values
    if "e" in text:
        text = text.replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")
    if "n" in text:  # inf, -inf, nan (null too, which these leave alone)
        text = text.replace("-inf", '"-Infinity"').replace("inf", '"Infinity"')
        text = text.replace("nan", '"NaN"')
    return "[" + text + "]"


def step_to_json(stats: StepStats, digits: int = LAYER_DIGITS) -> str:
    """A step as compact JSON, straight from its fields (no deep copy)."""
    spec = f"%.{digits}g"
    parts = ['{"type":"step"']
    fields_now = vars(stats)
    for name, default, key in _STEP_FIELDS:
        value = fields_now[name]
        if value is None or (default is not MISSING and (value is default or value == default)):
            continue  # at its default, or None: the reader fills it in
        if name == "graph_issues":  # rare (step 0 only) and not numbers: the plain encoding
            text = json.dumps(_encode([asdict(issue) for issue in value]), separators=(",", ":"))
        elif name == "nonfinite_origin":  # once a run, and text: the plain encoding
            text = json.dumps(_encode(asdict(value)), separators=(",", ":"))
        elif type(value) is tuple:
            text = _row_text(name, value, spec)
        else:
            text = _number(value)
        parts.append(key + text)
    return ",".join(parts) + "}"


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
