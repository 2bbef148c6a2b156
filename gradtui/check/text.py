"""The checklist as text: one mark per line, then why and fix, and the overfit loss as a plot."""

from __future__ import annotations

import math
import textwrap

from gradtui.check.result import CheckReport

MARKS = {"pass": "[pass]", "fail": "[FAIL]", "unknown": "[ ?  ]"}
BARS = " ▁▂▃▄▅▆▇█"
INDENT = "       "
WIDTH = 96


def format_report(report: CheckReport) -> str:
    lines = ["gradtui check: the quick checks, on a copy of your model", ""]
    for item in report.items:
        lines.append(f"{MARKS[item.status]} {item.title}")
        lines.extend(_wrap(item.summary))
        if item.status != "pass":
            if item.why:
                lines.extend(_wrap(f"why: {item.why}"))
            if item.fix:
                lines.extend(_wrap(f"fix: {item.fix}"))
        if item.id == "overfit" and report.loss_curve:
            lines.extend("       " + row for row in loss_plot(list(report.loss_curve)))
    failed = report.failed()
    lines += ["", f"{len(failed)} failed: {', '.join(failed)}" if failed else "all checks pass"]
    return _printable("\n".join(lines))


def _printable(text: str) -> str:
    """Names and messages from the user's code reach a terminal: no control characters."""
    return "".join(ch for ch in text if ch == "\n" or (ch >= " " and ch != "\x7f"))


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=INDENT, subsequent_indent=INDENT + "     ")


def loss_plot(losses: list[float], width: int = 48, height: int = 4) -> list[str]:
    """A small bar plot of the loss, log10 when it spans two decades, with its axis labelled."""
    finite = [v for v in losses if math.isfinite(v)]
    if not finite:
        return []
    logged = min(finite) > 0 and max(finite) / min(finite) >= 100
    values = [_scale(v, logged) for v in losses]
    columns = _resample(values, width)
    low = min(v for v in columns if math.isfinite(v))
    high = max(v for v in columns if math.isfinite(v))
    span = (high - low) or 1.0
    full = height * 8
    levels = [full if not math.isfinite(v) else 1 + (v - low) / span * (full - 1) for v in columns]
    rows = []
    for row in range(height - 1, -1, -1):
        cells = "".join(BARS[int(max(0, min(8, level - row * 8)))] for level in levels)
        rows.append(cells)
    label = "log10(loss)" if logged else "loss"
    top, bottom = (f"{high:.2f}", f"{low:.2f}") if logged else (f"{high:.3g}", f"{low:.3g}")
    pad = max(len(top), len(bottom))
    rows = [
        f"{(top if i == 0 else bottom if i == height - 1 else ''):>{pad}} │{r}"
        for i, r in enumerate(rows)
    ]
    rows.append(f"{'':>{pad}} └{'─' * len(columns)}")
    rows.append(f"{'':>{pad}}  {label} over {len(losses)} steps")
    return rows


def _scale(value: float, logged: bool) -> float:
    if not math.isfinite(value):
        return math.inf
    return math.log10(value) if logged else value


def _resample(values: list[float], width: int) -> list[float]:
    if len(values) <= width:
        return values
    return [values[int(i * (len(values) - 1) / (width - 1))] for i in range(width)]
