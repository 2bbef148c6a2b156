"""The headless report of a run, as JSON-able data and as readable text. No torch."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from gradtui.diagnosis import ChainLink, Diagnoser
from gradtui.events import Diagnosis, Event
from gradtui.numbers import short
from gradtui.report.summary import RunSummary, finite_or_none
from gradtui.text import safe_line

SCHEMA = "gradtui.report/1"
LONG = 2000  # characters of a message, a why or a fix shown before it is cut


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
    summary = RunSummary()
    for event in events:
        summary.observe(event)
    return report_of(summary, diagnoses, links, status)


def report_of(
    summary: RunSummary,
    diagnoses: Iterable[Diagnosis] = (),
    links: Sequence[ChainLink] = (),
    status: Sequence[str] = (),
) -> dict[str, Any]:
    """The report from a RunSummary that saw the run's events one at a time."""
    started = summary.started
    if started is None:
        raise ValueError("the run has no start event")
    losses = summary.losses
    return {
        "schema": SCHEMA,
        "scenario": started.scenario,
        "source": started.source,
        "steps_run": summary.steps_run or 0,
        "final_loss": finite_or_none(losses[-1]) if losses else None,
        "loss": [finite_or_none(v) for v in losses],
        "error": summary.error,
        "stopped_reason": summary.stopped_reason,
        "layers": summary.layer_dicts(list(status)),
        # The chain view: each block's median link gain over the last steps, and the median
        # cumulative product from the loss down to the block's input.
        "links": [
            {
                "block": link.block,
                "gain_median": finite_or_none(link.gain_median),
                "cumulative": finite_or_none(link.cumulative_median),
            }
            for link in links
        ],
        "diagnoses": [_diagnosis(d) for d in diagnoses],
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
        "evidence": [
            {
                "name": e.name,
                "value": _json_value(e.value),
                "rules_in": list(e.rules_in),
                "rules_out": list(e.rules_out),
            }
            for e in d.evidence
        ],
    }


def evidence_line(evidence: Sequence[dict[str, Any]]) -> str:
    """The evidence of one finding on one line: ``name value``, joined by semicolons."""
    return "; ".join(f"{e['name']} {_value_text(e['value'])}" for e in evidence)


def _json_value(value: str | float | int) -> str | float | int:
    """A non-finite number as its text ("nan", "inf"), so the report stays strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else short(value)


def format_report(report: dict[str, Any]) -> str:
    """A short readable summary for the terminal. Text that came from a file (names,
    messages) is made terminal-safe: control characters shown, one line each."""
    noun = "run" if report.get("source") == "watch" else "scenario"
    lines = [f"{noun} {safe_line(report['scenario'], 80)}: {report['steps_run']} steps"]
    losses = [v for v in report["loss"] if v is not None]
    if report["loss"]:
        first = report["loss"][0]
        last = report["final_loss"]
        lines.append(f"  loss {short(first)} -> {short(last)}")
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
        lines.append(
            f"  failed at step {err['step']}: {safe_line(err['type'], 80)}: "
            f"{safe_line(err['message'], LONG)}"
        )
        if err["forward_trace"]:
            lines.append(f"  forward line: {safe_line(err['forward_trace'], LONG)}")
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
            f"  {safe_line(layer['name'], 80):<24}  {short(layer['grad_norm_first']):>9} -> "
            f"{short(layer['grad_norm_last']):<9}  {short(layer['grad_norm_median']):>9}  "
            + ", ".join(notes)
        )
    lines += _chain_lines(report.get("links", []))
    if report["diagnoses"]:
        lines.append("diagnoses:")
        for d in report["diagnoses"]:
            lines.append(
                f"  [{safe_line(d['severity'], 10)}] {safe_line(d['kind'], 60)} "
                f"(step {d['step']}): {safe_line(d['message'], LONG)}"
            )
            lines.append(f"      why: {safe_line(d['why'], LONG)}")
            lines.append(f"      fix: {safe_line(d['fix'], LONG)}")
            if d.get("evidence"):
                lines.append(f"      evidence: {safe_line(evidence_line(d['evidence']), LONG)}")
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
            f"  {safe_line(link['block'], 80):<24}  {short(link['gain_median']):>16}   "
            f"{short(link['cumulative'])}"
        )
    return lines
