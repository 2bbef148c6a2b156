"""Scenario variants the course needs beside the shipped files: a learning rate, a fault removed."""

from __future__ import annotations

from typing import Any

from gradtui.scenario.spec import ScenarioSpec


def variant(spec: ScenarioSpec, suffix: str, title: str, **changes: Any) -> ScenarioSpec:
    """A copy of ``spec`` with dotted changes ("train.lr": 0.1, "fault.detach_at": None)."""
    data = spec.model_dump()
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        data[section][key] = value
    data["name"] = f"{spec.name}_{suffix}"
    data["title"] = title
    return ScenarioSpec.model_validate(data)


def with_lr(spec: ScenarioSpec, lr: float) -> ScenarioSpec:
    suffix = f"lr{lr:g}".replace(".", "p").replace("-", "m").replace("+", "")
    return variant(spec, suffix.lower(), f"lr {lr:g} · {spec.title}", **{"train.lr": lr})


def without_detach(spec: ScenarioSpec) -> ScenarioSpec:
    return variant(
        spec, "no_detach", f"{spec.title}, without the detach", **{"fault.detach_at": None}
    )
