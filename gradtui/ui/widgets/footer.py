"""A footer that fits its width: below 100 columns it is compact and drops the palette key;
when the keys still do not fit, the least needed go first (? lists them all), so no key is
ever cut in half or drawn over another."""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer

COMPACT_BELOW = 100  # columns
# The actions a footer keeps longest, most needed first; any other action comes after these.
KEEP = (
    "help",
    "quit",
    "back",
    "launch",
    "toggle_pause",
    "step",
    "answer",
    "compare",
    "mark",
    "next_panel",
    "clear",
    "clear_marks",
    "faster",
    "slower",
    "restart",
)
PALETTE_WIDTH = 14  # "▏ ^p palette " docked at the right


def key_width(key: str, description: str, compact: bool) -> int:
    """Cells one key takes: compact is "k Desc" and a margin; else " k Desc "."""
    return cell_len(key) + 1 + cell_len(description) + (1 if compact else 2)


def keep_rank(action: str) -> int:
    name = action.rsplit(".", 1)[-1].split("(", 1)[0]
    return KEEP.index(name) if name in KEEP else len(KEEP)


def fitting(widths: list[int], ranks: list[int], room: int) -> list[int]:
    """The indices of the keys to show, in their order: all when they fit, else the best
    ranked that do."""
    chosen = sorted(range(len(widths)), key=lambda i: (ranks[i], i))
    kept: list[int] = []
    used = 0
    for index in chosen:
        if used + widths[index] <= room:
            kept.append(index)
            used += widths[index]
    return sorted(kept)


class FittingFooter(Footer):
    """Footer's keys, as many as fit on one row of the screen's width."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._width = 0

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            self.call_after_refresh(self.recompose)

    def compose(self) -> ComposeResult:
        room = self.size.width or self.app.size.width
        compact = room < COMPACT_BELOW
        self.set_reactive(Footer.compact, compact)
        self.set_class(compact, "-compact")
        self.set_reactive(Footer.show_command_palette, not compact)
        items = list(super().compose())
        keys = [w for w in items if _is_key(w)]
        if not compact and len(keys) < len(items):
            room -= PALETTE_WIDTH
        widths = [key_width(k.key_display, k.description, compact) for k in keys]
        kept = {id(keys[i]) for i in fitting(widths, [keep_rank(k.action) for k in keys], room)}
        yield from (w for w in items if not _is_key(w) or id(w) in kept)


def _is_key(widget: Widget) -> bool:
    """One of Footer's keys (not the palette's, which docks at the right)."""
    return hasattr(widget, "action") and not widget.has_class("-command-palette")
