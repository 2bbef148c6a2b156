"""What ``gradtui check`` found: plain data, no torch, JSON-able."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "fail", "unknown"]
SCHEMA = "gradtui.check/1"


@dataclass(frozen=True)
class CheckItem:
    """One line of the checklist: what was checked, how it came out, and why / what to do."""

    id: str  # stable key: loss_reaches_params, parameters, optimizer, graph, magnitudes, overfit
    title: str
    status: Status
    summary: str  # what was found, with the names and the numbers
    why: str = ""  # the chain-rule reason (for a fail or an unknown)
    fix: str = ""  # what to change
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckReport:
    """The whole checklist. ``ok`` is False when any line failed; unknowns do not fail it."""

    items: tuple[CheckItem, ...]
    loss_curve: tuple[float, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(item.status == "fail" for item in self.items)

    def __bool__(self) -> bool:
        return self.ok

    def item(self, check_id: str) -> CheckItem:
        return next(item for item in self.items if item.id == check_id)

    def failed(self) -> list[str]:
        return [item.id for item in self.items if item.status == "fail"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "ok": self.ok,
            "checks": [
                {
                    "id": item.id,
                    "title": item.title,
                    "status": item.status,
                    "summary": item.summary,
                    "why": item.why,
                    "fix": item.fix,
                    "details": _finite(item.details),
                }
                for item in self.items
            ],
            "loss_curve": _finite(list(self.loss_curve)),
        }

    def __str__(self) -> str:
        from gradtui.check.text import format_report

        return format_report(self)


def _finite(value: Any) -> Any:
    """Non-finite floats become None, so the JSON is strict."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
