"""The chain rule of the latest step: each link's gain as a bar on a log scale, and the product.

A link is one block. Its gain is how much it scales the gradient on the way back; the gradient
reaching the input is the product of every gain between it and the loss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text

from gradtui.diagnosis import Link, chain_links
from gradtui.diagnosis.thresholds import LINK_GROW, LINK_SHRINK
from gradtui.numbers import sci
from gradtui.text import safe_line
from gradtui.ui.format import waiting_text
from gradtui.ui.history import RunHistory
from gradtui.ui.palette import Palette, palette_of, role_of
from gradtui.ui.widgets.panel import HistoryPanel

ROWS_EACH_SIDE = 3  # bar rows above and below the ×1 line
DECADES_PER_ROW = 1 / 3  # so the bars reach ×10 and ×0.1


def link_verdict(link: Link, out_norm: float | None) -> str:
    """ok, shrinks, grows, nonfinite, broken (a gradient arrives and none passes: a detach,
    or a block whose units are all dead), or unknown (nothing arrives to pass on)."""
    if link.gain is None:
        return "broken" if link.block > 0 and out_norm else "unknown"
    if link.gain == 0:
        return "broken"
    if not math.isfinite(link.gain):
        return "nonfinite"
    if link.gain < LINK_SHRINK:
        return "shrinks"
    if link.gain > LINK_GROW:
        return "grows"
    return "ok"


def bar_cell(log_gain: float, row: int) -> bool:
    """Whether the bar of this log10 gain fills row (positive above ×1, negative below)."""
    reach = log_gain / DECADES_PER_ROW
    if row > 0:
        return reach >= row - 0.5
    return reach <= row + 0.5


class ChainPanel(HistoryPanel):
    DEFAULT_CSS = "ChainPanel { height: 12; }"

    def render(self) -> Text:
        history = self.history
        if history is None or history.latest is None or history.started is None:
            return Text(waiting_text(history is not None and history.ended), style="dim")
        stats = history.chain_stats or history.latest
        norms = stats.block_grad_norm or ()
        if not norms and len(history.started.blocks) > 1:  # a watched run reads it now and then
            return Text(f"no chain read yet: {_read_every(history)}", style="dim")
        if len(norms) < 2:
            return _one_link(norms[0] if norms else None)
        links = chain_links(norms)
        verdicts = [link_verdict(link, norms[link.block]) for link in links]
        column = max(1, min(3, (self.size.width - 7) // max(len(links), 1)))
        # Only the columns that fit are built: the rest would be cropped (100,000 blocks).
        shown = max(1, (self.size.width - 7) // column)
        palette = palette_of(self)
        text = Text(no_wrap=True, overflow="crop")
        for row in range(ROWS_EACH_SIDE, -ROWS_EACH_SIDE - 1, -1):
            text.append(_axis_label(row))
            for link, verdict in zip(links[:shown], verdicts[:shown], strict=True):
                text.append(_cell(link, verdict, row, column, palette))
            text.append("\n")
        text.append("block ")
        blocks = list(history.started.blocks[: len(links)])
        blocks += ["?"] * (len(links) - len(blocks))
        text.append(link_labels(blocks[:shown], column))
        text.append("\n")
        text.append(_summary(history, links, verdicts, palette))
        if stats is not history.latest:
            why = (
                _read_every(history)
                if history.latest.block_grad_norm is None
                else "the latest step's chain has nan/inf"
            )
            text.append(f"\nthe chain at step {stats.step}: {why}", "dim")
        return text


def _read_every(history: RunHistory) -> str:
    assert history.started is not None
    return f"it is read every {history.started.heavy_every} steps"


def link_labels(blocks: Sequence[str], column: int) -> str:
    """Each link's block under its column, by the name the layers panel shows (``blocks.3``
    is 3, a Sequential's ``4`` is 4, ``head`` is H), each whole, left to right while they fit
    without touching the one before; the last (the output end) always shows."""
    count = len(blocks)
    line = [" "] * (count * column)
    last = short_block_name(blocks[-1]) if blocks else "H"
    head = max(0, min((count - 1) * column, len(line) - len(last)))
    line[head : head + len(last)] = last
    free_from = 0
    for block, name in enumerate(blocks[:-1]):
        label, start = short_block_name(name), block * column
        if start >= free_from and start + len(label) < head:
            line[start : start + len(label)] = label
            free_from = start + len(label) + 1
    return "".join(line)


def short_block_name(name: str) -> str:
    """The last part of a dotted module name, as the chain labels its columns; head is H."""
    if name == "head":
        return "H"
    return safe_line(name.rsplit(".", 1)[-1], 6) or "?"


def _one_link(out_norm: float | None) -> Text:
    """A run with a single link (a compiled model, watched from outside its compiled code,
    or a model that is one layer) has no gain to draw."""
    text = Text("|∂L/∂output| ")
    text.append(sci(out_norm), style="bold")
    text.append(
        "\n\nThis run measures the gradient only where it leaves the loss, at the model's "
        "output: no link between blocks, so no gains. (A compiled model is watched from "
        "outside its compiled code.) The layers panel still shows how the gradient spreads "
        "across the layers.",
        style="dim",
    )
    return text


def _axis_label(row: int) -> str:
    if row == 0:
        return "×1    ┼"
    if row == ROWS_EACH_SIDE:
        return "×10   ┤"
    if row == -ROWS_EACH_SIDE:
        return "×0.1  ┤"
    return "      │"


def verdict_style(verdict: str, palette: Palette) -> str:
    """A verdict's colour: bold, but for ok (thin, as it is everywhere) and unknown (muted)."""
    return palette.fg(role_of(verdict), bold=verdict not in ("ok", "unknown"))


def _cell(link: Link, verdict: str, row: int, column: int, palette: Palette) -> Text:
    style = verdict_style(verdict, palette)
    pad = " " if column > 1 else ""
    width = max(1, column - 1)
    if link.gain is None or not math.isfinite(link.gain) or link.gain <= 0:
        if row != 0:
            return Text(" " * width + pad)
        mark = {"broken": "✕", "nonfinite": "!"}.get(verdict, "·")
        return Text(mark * width + pad, style=style)
    log_gain = math.log10(link.gain)
    if row == 0:
        if verdict == "ok":  # about ×1: a heavy mark on the axis, so a healthy link shows
            return Text("━" * width, style=style) + Text("─" if pad else "", style="dim")
        return Text("─" * width + ("─" if pad else ""), style="dim")
    if bar_cell(log_gain, row):
        beyond = abs(log_gain / DECADES_PER_ROW) > ROWS_EACH_SIDE + 0.5
        edge = abs(row) == ROWS_EACH_SIDE and beyond
        return Text(("▲" if row > 0 else "▼") * width if edge else "█" * width, style=style) + pad
    return Text(" " * width + pad)


def _summary(
    history: RunHistory, links: tuple[Link, ...], verdicts: list[str], palette: Palette
) -> Text:
    first = next((link for link in links if link.cumulative is not None), None)
    blocks = history.started.blocks if history.started else ()

    def name(i: int) -> str:  # only the few named: a model may have 100,000 blocks
        return safe_line(blocks[i], 60)

    text = Text("product of the gains ")
    if first is None:
        text.append("unknown", style="dim")
    else:
        text.append(f"×{sci(first.cumulative)}", style="bold")
        text.append(f" (loss → {name(first.block - 1)} output)", style="dim")
    text.append("\n")
    culprits = [i for i, v in enumerate(verdicts) if v not in ("ok", "unknown")]
    if not culprits:
        text.append("every link keeps the gradient within ×0.5 … ×2 (━ on the ×1 line)", "dim")
        return text
    groups = [(v, [i for i in culprits if verdicts[i] == v]) for v in CULPRIT_WORDS]
    groups = [(v, which) for v, which in groups if which]
    for n, (verdict, which) in enumerate(groups):
        one, many = CULPRIT_WORDS[verdict]
        named = len(groups) == 1 and len(which) <= 2
        many_links = f"{len(which)} link{'s' * (len(which) > 1)}"
        who = " and ".join(name(i) for i in which) if named else many_links
        text.append(" · " if n else "")
        text.append(
            f"{who} {one if len(which) == 1 else many}", style=verdict_style(verdict, palette)
        )
    return text


CULPRIT_WORDS = {
    "broken": ("passes no gradient", "pass no gradient"),
    "nonfinite": ("passes nan/inf", "pass nan/inf"),
    "shrinks": ("shrinks it <×0.5", "shrink it <×0.5"),
    "grows": ("grows it >×2", "grow it >×2"),
}
