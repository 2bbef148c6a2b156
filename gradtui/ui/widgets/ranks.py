"""The Ranks panel: what differs by rank in a distributed run shown as one. No torch."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from gradtui.numbers import short
from gradtui.ui.feed import RunFeed

STATE_STYLE = {"failed": "bold red", "diverged": "bold red", "quiet": "yellow"}


def rank_state(feed: RunFeed) -> str:
    history = feed.history
    silent = feed.source.silent_seconds()
    if history.started is None:
        return "waiting"
    if not history.ended and silent is not None:
        return "quiet"
    return history.state


def rank_rows(feeds: Sequence[RunFeed], ranks: Sequence[int]) -> list[tuple[str, ...]]:
    """One row a rank: rank, steps seen, steps/s, last loss, first non-finite step, the last
    step's time between steps (a rank the others wait for has more), state."""
    rows = []
    for rank, feed in zip(ranks, feeds, strict=True):
        history = feed.history
        latest = history.latest
        rate = history.steps_per_second()
        loss = latest.loss if latest is not None else None
        bad = history.first_nonfinite_step
        rows.append(
            (
                str(rank),
                str(history.steps_seen),
                "-" if rate is None else f"{rate:.0f}",
                "-" if loss is None else (short(loss) if math.isfinite(loss) else str(loss)),
                "-" if bad is None else str(bad),
                _between(latest.outside_seconds if latest is not None else None),
                rank_state(feed),
            )
        )
    return rows


def _between(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f}ms" if seconds >= 0.0095 else f"{seconds * 1000:.1f}ms"


class RanksPanel(Static):
    """Steps, rate, loss, first non-finite step, time between steps and state of every rank;
    the norms above are the same on every rank (all-reduced under DDP, whole under FSDP2), so
    they show once."""

    def show(self, feeds: Sequence[RunFeed], ranks: Sequence[int]) -> None:
        table = Table(box=None, padding=(0, 1), expand=True, show_edge=False)
        for heading in ("rank", "step", "steps/s", "loss", "non-finite", "between", "state"):
            table.add_column(heading, justify="left" if heading == "state" else "right")
        for row in rank_rows(feeds, ranks):
            style = STATE_STYLE.get(row[-1], "")
            table.add_row(*row[:-1], Text(row[-1], style=style))
        self.update(table)
