"""The one family of number formatters: every number a person reads goes through one of these.

No torch, no textual: the report, the rules and the dashboard share them.
"""

from __future__ import annotations

import math


def sci(value: float | None, digits: int = 2) -> str:
    """A value in scientific notation: 3.21e-05; '—' when unmeasured."""
    if value is None:
        return "—"
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}e}"


def num(value: float | None) -> str:
    """3 significant digits; scientific notation for very small or large magnitudes."""
    if value is None:
        return "n/a"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.1e}"
    return f"{value:.3g}"


def exact(value: float | None) -> str:
    """Six significant digits, for values that must be told apart ('None' when unmeasured)."""
    return "None" if value is None else f"{value:.6g}"


def short(value: float | None) -> str:
    """Four significant digits, for tables; '-' when unmeasured."""
    return "-" if value is None else f"{value:.4g}"


def pct(value: float) -> str:
    """A fraction as a percentage with two significant digits: 0.125 -> '12%'."""
    return f"{100 * value:.2g}%"


def times(factor: float) -> str:
    """A multiplying factor as '7x', '1.3x', '2.5e+06x'."""
    if not math.isfinite(factor):
        return "infinitely"
    if factor >= 1e4:
        return f"{factor:.1e}x"
    if factor >= 10:
        return f"{factor:.0f}x"
    return f"{factor:.2g}x"


def decades(ratio: float) -> str:
    """How many orders of magnitude a ratio spans, as '15.7 decades'."""
    if ratio <= 0:
        return "all the way to zero"
    return f"{abs(math.log10(ratio)):.1f} decades"
