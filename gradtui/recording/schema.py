"""Checks one decoded recording line against the event schema, and builds its event.

A line from a file is foreign input: every field is checked for its type, per-layer and
per-block tuples for their length (from the run's RunStarted), severities for the allowed set
and counts for their range, before an event is made. A line that fails raises BadEvent naming
the field. Keys this reader does not know are ignored, so a newer writer's extra fields do not
break an older reader. No torch.
"""

from __future__ import annotations

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
from gradtui.recording.limits import MAX_LAYERS
from gradtui.recording.schema_fields import (
    NONFINITE,
    BadEvent,
    UnknownEvent,
    field,
    fraction_or_none,
    integer,
    names,
    number,
    number_or_none,
    row,
    row_or_none,
    seconds,
    setting,
    text,
    text_or_none,
)

RUN_SOURCES = ("scenario", "watch")
__all__ = ["NONFINITE", "BadEvent", "UnknownEvent", "checked_event"]


def _graph_issue(value: Any, key: str) -> GraphIssue:
    if not isinstance(value, dict):
        raise BadEvent(f"{key}: expected a table")
    return GraphIssue(
        kind=text(field(value, "kind"), f"{key}.kind"),
        ops=names(field(value, "ops", []), f"{key}.ops"),
        params=names(field(value, "params", []), f"{key}.params"),
    )


def run_started(data: dict[str, Any]) -> RunStarted:
    blocks_raw = field(data, "blocks")
    if not isinstance(blocks_raw, list) or len(blocks_raw) > MAX_LAYERS:
        raise BadEvent("blocks: expected a list of names")
    blocks = tuple(text(b, f"blocks[{i}]") for i, b in enumerate(blocks_raw))
    layers_raw = field(data, "layers")
    if not isinstance(layers_raw, list) or len(layers_raw) > MAX_LAYERS:
        raise BadEvent("layers: expected a list of layers")
    layers = tuple(_layer(layer, f"layers[{i}]", len(blocks)) for i, layer in enumerate(layers_raw))
    spec = field(data, "spec", {})
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise BadEvent(f"spec: expected a table, got {type(spec).__name__}")
    source = text(field(data, "source", "scenario"), "source")
    if source not in RUN_SOURCES:
        raise BadEvent(f"source: expected one of {', '.join(RUN_SOURCES)}")
    batch = field(data, "batch", None)
    rank = field(data, "rank", None)
    return RunStarted(
        scenario=text(field(data, "scenario"), "scenario"),
        title=text(field(data, "title"), "title"),
        lesson=text(field(data, "lesson"), "lesson"),
        spec=spec,
        layers=layers,
        blocks=blocks,
        total_steps=integer(field(data, "total_steps"), "total_steps"),
        heavy_every=integer(field(data, "heavy_every"), "heavy_every", low=1),
        activation=text(field(data, "activation", ""), "activation"),
        source=source,  # type: ignore[arg-type]
        batch=None if batch is None else integer(batch, "batch", low=1),
        init=text(field(data, "init", ""), "init"),
        optimizer=text(field(data, "optimizer", ""), "optimizer"),
        model=text(field(data, "model", ""), "model"),
        rank=None if rank is None else integer(rank, "rank"),
        world_size=integer(field(data, "world_size", 1), "world_size", low=1),
        not_in_optimizer=names(field(data, "not_in_optimizer", []), "not_in_optimizer"),
        unregistered=names(field(data, "unregistered", []), "unregistered"),
        added_after_watch=names(field(data, "added_after_watch", []), "added_after_watch"),
        param_dtype=text(field(data, "param_dtype", ""), "param_dtype"),
        weight_decay=setting(field(data, "weight_decay", None), "weight_decay"),
        eps=setting(field(data, "eps", None), "eps"),
    )


def _layer(value: Any, key: str, blocks: int) -> LayerInfo:
    if not isinstance(value, dict):
        raise BadEvent(f"{key}: expected a table")
    block = integer(field(value, "block"), f"{key}.block")
    if block >= blocks:
        raise BadEvent(f"{key}.block: {block} is not one of the {blocks} blocks")
    return LayerInfo(
        name=text(field(value, "name"), f"{key}.name"),
        kind=text(field(value, "kind"), f"{key}.kind"),
        block=block,
        params=integer(field(value, "params"), f"{key}.params"),
    )


def step_stats(data: dict[str, Any], started: RunStarted) -> StepStats:
    layers, blocks = len(started.layers), len(started.blocks)

    def per_layer(key: str, item: Callable[[Any, str], Any], optional: bool = False):
        value = field(data, key, None) if optional else field(data, key)
        return (row_or_none if optional else row)(value, key, layers, item)

    def per_block(key: str, item: Callable[[Any, str], Any], optional: bool = False):
        value = field(data, key, None) if optional else field(data, key)
        return (row_or_none if optional else row)(value, key, blocks, item)

    return StepStats(
        step=integer(field(data, "step"), "step"),
        loss=number(field(data, "loss"), "loss"),
        grad_norm_total=number(field(data, "grad_norm_total"), "grad_norm_total"),
        grad_norm_clipped=number_or_none(
            field(data, "grad_norm_clipped", None), "grad_norm_clipped"
        ),
        grad_norm=per_layer("grad_norm", number_or_none),
        nonfinite=per_layer("nonfinite", integer),
        weight_norm=per_layer("weight_norm", number),
        update_ratio=per_layer("update_ratio", number),
        block_grad_norm=per_block("block_grad_norm", number_or_none, optional=True),
        carried_grad_norm=number(field(data, "carried_grad_norm", 0.0), "carried_grad_norm"),
        grad_mean_abs=per_layer("grad_mean_abs", number_or_none, optional=True),
        grad_max_abs=per_layer("grad_max_abs", number_or_none, optional=True),
        grad_zero_frac=per_layer("grad_zero_frac", fraction_or_none, optional=True),
        dead_frac=per_block("dead_frac", fraction_or_none, optional=True),
        saturated_frac=per_block("saturated_frac", fraction_or_none, optional=True),
        nonfinite_source=text_or_none(field(data, "nonfinite_source", None), "nonfinite_source"),
        graph_issues=_graph_issues(field(data, "graph_issues", [])),
        lr=setting(field(data, "lr", None), "lr"),
        nonfinite_local=per_layer("nonfinite_local", integer, optional=True),
        outside_seconds=seconds(field(data, "outside_seconds", None), "outside_seconds"),
    )


def _graph_issues(value: Any) -> tuple[GraphIssue, ...]:
    if not isinstance(value, list) or len(value) > MAX_LAYERS:
        raise BadEvent("graph_issues: expected a list")
    return tuple(_graph_issue(v, f"graph_issues[{i}]") for i, v in enumerate(value))


def run_finished(data: dict[str, Any]) -> RunFinished:
    stopped = field(data, "stopped", False)
    if not isinstance(stopped, bool):
        raise BadEvent("stopped: expected true or false")
    reason = text(field(data, "reason", ""), "reason")
    if reason not in FINISH_REASONS:
        raise BadEvent(f"reason: expected one of {sorted(FINISH_REASONS)}")
    steps_run = integer(field(data, "steps_run"), "steps_run")
    return RunFinished(steps_run=steps_run, stopped=stopped, reason=reason)


FINISH_REASONS = frozenset({"", "nonfinite"})  # RunFinished.reason: a recording's is read back


def run_failed(data: dict[str, Any]) -> RunFailed:
    return RunFailed(
        step=integer(field(data, "step"), "step"),
        error_type=text(field(data, "error_type"), "error_type"),
        message=text(field(data, "message"), "message"),
        forward_trace=text(field(data, "forward_trace", ""), "forward_trace"),
    )


def diagnosis(data: dict[str, Any]) -> Diagnosis:
    severity = text(field(data, "severity"), "severity")
    if severity not in SEVERITY_ORDER:
        raise BadEvent(f"severity: expected one of {', '.join(SEVERITY_ORDER)}")
    layers = field(data, "layers")
    if not isinstance(layers, list) or len(layers) > MAX_LAYERS:
        raise BadEvent("layers: expected a list of names")
    return Diagnosis(
        kind=text(field(data, "kind"), "kind"),
        severity=severity,  # type: ignore[arg-type]
        step=integer(field(data, "step"), "step"),
        layers=tuple(text(name, f"layers[{i}]") for i, name in enumerate(layers)),
        message=text(field(data, "message"), "message"),
        why=text(field(data, "why"), "why"),
        fix=text(field(data, "fix"), "fix"),
        evidence=_evidence(field(data, "evidence", [])),
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
        name=text(item["name"], f"{key}.name"),
        value=raw if kept else number(raw, f"{key}.value"),
        rules_in=names(field(item, "rules_in", []), f"{key}.rules_in"),
        rules_out=names(field(item, "rules_out", []), f"{key}.rules_out"),
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
