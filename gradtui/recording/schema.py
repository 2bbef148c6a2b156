"""Checks one decoded recording line against the event schema, and builds its event.

A line from a file is foreign input: every field is checked for its type, per-layer and
per-block tuples for their length (from the run's RunStarted), severities for the allowed set
and counts for their range, before an event is made. A line that fails raises BadEvent naming
the field. Keys this reader does not know are ignored, so a newer writer's extra fields do not
break an older reader. No torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from gradtui.events import (
    SEVERITY_ORDER,
    Diagnosis,
    Event,
    Evidence,
    GraphIssue,
    LayerInfo,
    RunFailed,
    RunFinished,
    RunStarted,
    StepStats,
)
from gradtui.recording.limits import MAX_INT, MAX_LAYERS

RUN_SOURCES = ("scenario", "watch")
# How the writer spells non-finite floats, so every line stays strict JSON.
NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class BadEvent(ValueError):
    """A line that is not a valid event; the message names the field."""


class UnknownEvent(BadEvent):
    """A well-formed line of an event type this reader does not know."""


_MISSING = object()


def _get(data: dict[str, Any], key: str, default: Any = _MISSING) -> Any:
    if key in data:
        return data[key]
    if default is _MISSING:
        raise BadEvent(f"{key}: required field is missing")
    return default


def _integer(value: Any, key: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadEvent(f"{key}: expected an integer, got {type(value).__name__}")
    if not low <= value <= MAX_INT:
        raise BadEvent(f"{key}: {value} is out of range")
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, str) and value in NONFINITE:
        return NONFINITE[value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadEvent(f"{key}: expected a number, got {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:
        raise BadEvent(f"{key}: number too large") from None


def _number_or_none(value: Any, key: str) -> float | None:
    return None if value is None else _number(value, key)


def _fraction_or_none(value: Any, key: str) -> float | None:
    if value is None:
        return None
    number = _number(value, key)
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise BadEvent(f"{key}: expected a fraction in [0, 1], got {number}")
    return number


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise BadEvent(f"{key}: expected a string, got {type(value).__name__}")
    return value


def _text_or_none(value: Any, key: str) -> str | None:
    return None if value is None else _text(value, key)


def _names(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_LAYERS:
        raise BadEvent(f"{key}: expected a list of names")
    return tuple(_text(name, f"{key}[{i}]") for i, name in enumerate(value))


def _graph_issue(value: Any, key: str) -> GraphIssue:
    if not isinstance(value, dict):
        raise BadEvent(f"{key}: expected a table")
    return GraphIssue(
        kind=_text(_get(value, "kind"), f"{key}.kind"),
        ops=_names(_get(value, "ops", []), f"{key}.ops"),
        params=_names(_get(value, "params", []), f"{key}.params"),
    )


def _row(value: Any, key: str, length: int, item: Callable[[Any, str], Any]) -> tuple:
    if not isinstance(value, list):
        raise BadEvent(f"{key}: expected a list, got {type(value).__name__}")
    if len(value) != length:
        raise BadEvent(f"{key}: expected {length} values, got {len(value)}")
    return tuple(item(v, f"{key}[{i}]") for i, v in enumerate(value))


def _row_or_none(value: Any, key: str, length: int, item: Callable[[Any, str], Any]):
    return None if value is None else _row(value, key, length, item)


def run_started(data: dict[str, Any]) -> RunStarted:
    blocks_raw = _get(data, "blocks")
    if not isinstance(blocks_raw, list) or len(blocks_raw) > MAX_LAYERS:
        raise BadEvent("blocks: expected a list of names")
    blocks = tuple(_text(b, f"blocks[{i}]") for i, b in enumerate(blocks_raw))
    layers_raw = _get(data, "layers")
    if not isinstance(layers_raw, list) or len(layers_raw) > MAX_LAYERS:
        raise BadEvent("layers: expected a list of layers")
    layers = tuple(_layer(layer, f"layers[{i}]", len(blocks)) for i, layer in enumerate(layers_raw))
    spec = _get(data, "spec", {})
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise BadEvent(f"spec: expected a table, got {type(spec).__name__}")
    source = _text(_get(data, "source", "scenario"), "source")
    if source not in RUN_SOURCES:
        raise BadEvent(f"source: expected one of {', '.join(RUN_SOURCES)}")
    batch = _get(data, "batch", None)
    rank = _get(data, "rank", None)
    return RunStarted(
        scenario=_text(_get(data, "scenario"), "scenario"),
        title=_text(_get(data, "title"), "title"),
        lesson=_text(_get(data, "lesson"), "lesson"),
        spec=spec,
        layers=layers,
        blocks=blocks,
        total_steps=_integer(_get(data, "total_steps"), "total_steps"),
        heavy_every=_integer(_get(data, "heavy_every"), "heavy_every", low=1),
        activation=_text(_get(data, "activation", ""), "activation"),
        source=source,  # type: ignore[arg-type]
        batch=None if batch is None else _integer(batch, "batch", low=1),
        init=_text(_get(data, "init", ""), "init"),
        optimizer=_text(_get(data, "optimizer", ""), "optimizer"),
        model=_text(_get(data, "model", ""), "model"),
        rank=None if rank is None else _integer(rank, "rank"),
        world_size=_integer(_get(data, "world_size", 1), "world_size", low=1),
        not_in_optimizer=_names(_get(data, "not_in_optimizer", []), "not_in_optimizer"),
        unregistered=_names(_get(data, "unregistered", []), "unregistered"),
        added_after_watch=_names(_get(data, "added_after_watch", []), "added_after_watch"),
    )


def _layer(value: Any, key: str, blocks: int) -> LayerInfo:
    if not isinstance(value, dict):
        raise BadEvent(f"{key}: expected a table")
    block = _integer(_get(value, "block"), f"{key}.block")
    if block >= blocks:
        raise BadEvent(f"{key}.block: {block} is not one of the {blocks} blocks")
    return LayerInfo(
        name=_text(_get(value, "name"), f"{key}.name"),
        kind=_text(_get(value, "kind"), f"{key}.kind"),
        block=block,
        params=_integer(_get(value, "params"), f"{key}.params"),
    )


def step_stats(data: dict[str, Any], started: RunStarted) -> StepStats:
    layers, blocks = len(started.layers), len(started.blocks)

    def per_layer(key: str, item: Callable[[Any, str], Any], optional: bool = False):
        value = _get(data, key, None) if optional else _get(data, key)
        return (_row_or_none if optional else _row)(value, key, layers, item)

    def per_block(key: str, item: Callable[[Any, str], Any], optional: bool = False):
        value = _get(data, key, None) if optional else _get(data, key)
        return (_row_or_none if optional else _row)(value, key, blocks, item)

    return StepStats(
        step=_integer(_get(data, "step"), "step"),
        loss=_number(_get(data, "loss"), "loss"),
        grad_norm_total=_number(_get(data, "grad_norm_total"), "grad_norm_total"),
        grad_norm_clipped=_number_or_none(
            _get(data, "grad_norm_clipped", None), "grad_norm_clipped"
        ),
        grad_norm=per_layer("grad_norm", _number_or_none),
        nonfinite=per_layer("nonfinite", _integer),
        weight_norm=per_layer("weight_norm", _number),
        update_ratio=per_layer("update_ratio", _number),
        block_grad_norm=per_block("block_grad_norm", _number_or_none, optional=True),
        carried_grad_norm=_number(_get(data, "carried_grad_norm", 0.0), "carried_grad_norm"),
        grad_mean_abs=per_layer("grad_mean_abs", _number_or_none, optional=True),
        grad_max_abs=per_layer("grad_max_abs", _number_or_none, optional=True),
        grad_zero_frac=per_layer("grad_zero_frac", _fraction_or_none, optional=True),
        dead_frac=per_block("dead_frac", _fraction_or_none, optional=True),
        saturated_frac=per_block("saturated_frac", _fraction_or_none, optional=True),
        nonfinite_source=_text_or_none(_get(data, "nonfinite_source", None), "nonfinite_source"),
        graph_issues=_graph_issues(_get(data, "graph_issues", [])),
    )


def _graph_issues(value: Any) -> tuple[GraphIssue, ...]:
    if not isinstance(value, list) or len(value) > MAX_LAYERS:
        raise BadEvent("graph_issues: expected a list")
    return tuple(_graph_issue(v, f"graph_issues[{i}]") for i, v in enumerate(value))


def run_finished(data: dict[str, Any]) -> RunFinished:
    stopped = _get(data, "stopped", False)
    if not isinstance(stopped, bool):
        raise BadEvent("stopped: expected true or false")
    reason = _text(_get(data, "reason", ""), "reason")
    if reason not in FINISH_REASONS:
        raise BadEvent(f"reason: expected one of {sorted(FINISH_REASONS)}")
    steps_run = _integer(_get(data, "steps_run"), "steps_run")
    return RunFinished(steps_run=steps_run, stopped=stopped, reason=reason)


FINISH_REASONS = frozenset({"", "nonfinite"})  # RunFinished.reason: a recording's is read back


def run_failed(data: dict[str, Any]) -> RunFailed:
    return RunFailed(
        step=_integer(_get(data, "step"), "step"),
        error_type=_text(_get(data, "error_type"), "error_type"),
        message=_text(_get(data, "message"), "message"),
        forward_trace=_text(_get(data, "forward_trace", ""), "forward_trace"),
    )


def diagnosis(data: dict[str, Any]) -> Diagnosis:
    severity = _text(_get(data, "severity"), "severity")
    if severity not in SEVERITY_ORDER:
        raise BadEvent(f"severity: expected one of {', '.join(SEVERITY_ORDER)}")
    layers = _get(data, "layers")
    if not isinstance(layers, list) or len(layers) > MAX_LAYERS:
        raise BadEvent("layers: expected a list of names")
    return Diagnosis(
        kind=_text(_get(data, "kind"), "kind"),
        severity=severity,  # type: ignore[arg-type]
        step=_integer(_get(data, "step"), "step"),
        layers=tuple(_text(name, f"layers[{i}]") for i, name in enumerate(layers)),
        message=_text(_get(data, "message"), "message"),
        why=_text(_get(data, "why"), "why"),
        fix=_text(_get(data, "fix"), "fix"),
        evidence=_evidence(_get(data, "evidence", [])),
    )


def _evidence(value: Any) -> tuple[Evidence, ...]:
    if not isinstance(value, list) or len(value) > MAX_LAYERS:
        raise BadEvent("evidence: expected a list")
    return tuple(_evidence_item(item, f"evidence[{i}]") for i, item in enumerate(value))


def _evidence_item(item: Any, key: str) -> Evidence:
    if not isinstance(item, dict) or "name" not in item or "value" not in item:
        raise BadEvent(f"{key}: expected a table with a name and a value")
    raw = item["value"]
    kept = (isinstance(raw, str) and raw not in NONFINITE) or type(raw) is int
    return Evidence(
        name=_text(item["name"], f"{key}.name"),
        value=raw if kept else _number(raw, f"{key}.value"),
        rules_in=_names(_get(item, "rules_in", []), f"{key}.rules_in"),
        rules_out=_names(_get(item, "rules_out", []), f"{key}.rules_out"),
    )


def checked_event(data: Any, started: RunStarted | None) -> Event:
    """The event of one decoded line, checked; ``started`` is the run's RunStarted so far."""
    if not isinstance(data, dict):
        raise BadEvent("not a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise BadEvent("type: missing, or not a string")
    if kind == RunStarted.type:
        return run_started(data)
    if kind == StepStats.type:
        if started is None:
            raise BadEvent("a step before the run_started event")
        return step_stats(data, started)
    if kind == RunFinished.type:
        return run_finished(data)
    if kind == RunFailed.type:
        return run_failed(data)
    if kind == Diagnosis.type:
        return diagnosis(data)
    raise UnknownEvent(f"unknown event type {kind!r}")
