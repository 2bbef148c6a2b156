"""Checks a recorded ``nonfinite_origin`` (events.NonfiniteOrigin). No torch."""

from __future__ import annotations

from typing import Any

from gradtui.events import NonfiniteOrigin
from gradtui.recording.limits import MAX_LAYERS
from gradtui.recording.schema_fields import BadEvent, field, integer, names, text

KEY = "nonfinite_origin"
_TEXTS = ("where", "module_kind", "dtype", "values", "op", "op_inputs")


def nonfinite_origin(value: Any) -> NonfiniteOrigin | None:
    """The origin of a step line, or None where the line has none (older recordings)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadEvent(f"{KEY}: expected a table")
    columns = field(value, "columns", [])
    if not isinstance(columns, list) or len(columns) > MAX_LAYERS:
        raise BadEvent(f"{KEY}.columns: expected a list of column numbers")
    return NonfiniteOrigin(
        stage=text(field(value, "stage"), f"{KEY}.stage"),
        **{k: text(field(value, k, ""), f"{KEY}.{k}") for k in _TEXTS},
        entries=integer(field(value, "entries", 0), f"{KEY}.entries"),
        size=integer(field(value, "size", 0), f"{KEY}.size"),
        columns=tuple(integer(c, f"{KEY}.columns[{i}]") for i, c in enumerate(columns)),
        weights=names(field(value, "weights", []), f"{KEY}.weights"),
        graph_ops=names(field(value, "graph_ops", []), f"{KEY}.graph_ops"),
    )
