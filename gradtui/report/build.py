"""The headless report of a run, as JSON-able data and as readable text. No torch."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from gradtui.diagnosis import ChainLink, Diagnoser
from gradtui.events import Diagnosis, Event, RunFailed, RunFinished, RunStarted, StepStats

SCHEMA = "gradtui.report/1"


def _finite_or_none(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return value


def diagnose(events: Iterable[Event]) -> Diagnoser:
    """Run the diagnosis rules over a finished run's events (a recording, say)."""
    diagnoser = Diagnoser()
    for event in events:
        diagnoser.observe(event)
    return diagnoser


def build_report(
    events: Iterable[Event],
    diagnoses: Iterable[Diagnosis] = (),
    links: Sequence[ChainLink] = (),
    status: Sequence[str] = (),
) -> dict[str, Any]:
    """The report of a run. ``diagnoses``, ``links`` and ``status`` come from a Diagnoser that
    saw the same events (``diagnose`` makes one); without them those parts stay empty."""
    started: RunStarted | None = None
    steps: list[StepStats] = []
    error: dict[str, Any] | None = None
    steps_run = 0
    stopped_reason = ""
    for event in events:
        if isinstance(event, RunStarted):
            started = event
        elif isinstance(event, StepStats):
            steps.append(event)
        elif isinstance(event, RunFinished):
            steps_run = event.steps_run
            stopped_reason = event.reason
        elif isinstance(event, RunFailed):
            steps_run = event.step
            error = {
                "step": event.step,
                "type": event.error_type,
                "message": event.message,
                "forward_trace": event.forward_trace,
            }
    if started is None:
        raise ValueError("the run has no start event")
    losses = [s.loss for s in steps]
    return {
        "schema": SCHEMA,
        "scenario": started.scenario,
        "steps_run": steps_run,
        "final_loss": _finite_or_none(losses[-1]) if losses else None,
        "loss": [_finite_or_none(v) for v in losses],
        "error": error,
        "stopped_reason": stopped_reason,
        "layers": [
            {
                **_layer_summary(i, layer.name, steps),
                "status": status[i] if i < len(status) else "ok",
            }
            for i, layer in enumerate(started.layers)
        ],
        # The chain view: each block's median link gain over the last steps, and the median
        # cumulative product from the loss down to the block's input.
        "links": [
            {
                "block": link.block,
                "gain_median": _finite_or_none(link.gain_median),
                "cumulative": _finite_or_none(link.cumulative_median),
            }
            for link in links
        ],
        "diagnoses": [_diagnosis(d) for d in diagnoses],
    }


def _layer_summary(index: int, name: str, steps: list[StepStats]) -> dict[str, Any]:
    norms = [s.grad_norm[index] for s in steps]
    present = [n for n in norms if n is not None]
    finite = [n for n in present if math.isfinite(n)]
    return {
        "name": name,
        "grad_norm_first": _finite_or_none(present[0]) if present else None,
        "grad_norm_last": _finite_or_none(present[-1]) if present else None,
        "grad_norm_median": statistics.median(finite) if finite else None,
        "grad_none": bool(steps) and not present,
        "nonfinite": sum(s.nonfinite[index] for s in steps),
        "weight_changed": any(s.update_ratio[index] != 0 for s in steps),
    }


def _diagnosis(d: Diagnosis) -> dict[str, Any]:
    return {
        "kind": d.kind,
        "severity": d.severity,
        "step": d.step,
        "layers": list(d.layers),
        "message": d.message,
        "why": d.why,
        "fix": d.fix,
    }


def format_report(report: dict[str, Any]) -> str:
    """A short readable summary for the terminal."""
    lines = [f"scenario {report['scenario']}: {report['steps_run']} steps"]
    losses = [v for v in report["loss"] if v is not None]
    if report["loss"]:
        first = report["loss"][0]
        last = report["final_loss"]
        lines.append(f"  loss {_num(first)} -> {_num(last)}")
        if len(losses) < len(report["loss"]):
            bad = report["loss"].index(None)
            lines.append(f"  loss went non-finite at step {bad}")
    if report.get("stopped_reason") == "nonfinite":
        lines.append(
            f"  stopped at step {report['steps_run']}: the loss stayed non-finite, so the "
            "training ended itself"
        )
    if report["error"]:
        err = report["error"]
        lines.append(f"  failed at step {err['step']}: {err['type']}: {err['message']}")
        if err["forward_trace"]:
            lines.append(f"  forward line: {err['forward_trace']}")
    lines.append("  layer                     grad norm first -> last   median     notes")
    for layer in report["layers"]:
        notes = []
        if layer["grad_none"]:
            notes.append("grad is None")
        if layer["nonfinite"]:
            notes.append(f"{layer['nonfinite']} non-finite grads")
        if not layer["weight_changed"]:
            notes.append("weights never changed")
        if layer.get("status", "ok") != "ok":
            notes.insert(0, layer["status"])
        lines.append(
            f"  {layer['name']:<24}  {_num(layer['grad_norm_first']):>9} -> "
            f"{_num(layer['grad_norm_last']):<9}  {_num(layer['grad_norm_median']):>9}  "
            + ", ".join(notes)
        )
    lines += _chain_lines(report.get("links", []))
    if report["diagnoses"]:
        lines.append("diagnoses:")
        for d in report["diagnoses"]:
            lines.append(f"  [{d['severity']}] {d['kind']} (step {d['step']}): {d['message']}")
            lines.append(f"      why: {d['why']}")
            lines.append(f"      fix: {d['fix']}")
    else:
        lines.append("diagnoses: none")
    return "\n".join(lines)


def _chain_lines(links: list[dict[str, Any]]) -> list[str]:
    """The chain as one compact table: median gain of each link and the cumulative product."""
    if not links:
        return []
    lines = ["  chain (loss -> input)       median link gain   cumulative from the loss"]
    for link in reversed(links):
        lines.append(
            f"  {link['block']:<24}  {_num(link['gain_median']):>16}   {_num(link['cumulative'])}"
        )
    return lines


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"
