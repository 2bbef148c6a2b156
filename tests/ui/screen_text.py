"""The screen as text, and the checks the small-size layout tests share."""

from __future__ import annotations

import io
from itertools import combinations

from rich.console import Console
from textual.app import App
from textual.geometry import Region
from textual.widget import Widget

SIZES = ((60, 20), (80, 24), (120, 40))


def screen_lines(app: App) -> list[str]:
    """What the terminal shows now, one string per row (as export_screenshot draws it)."""
    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), force_terminal=True, record=True,
        legacy_windows=False, safe_box=False,
    )  # fmt: skip
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text(styles=False).split("\n")[:height]


def text_in(app: App, region: Region) -> list[str]:
    """The rows of the screen inside a region."""
    rows = screen_lines(app)[region.y : region.bottom]
    return [row[region.x : region.right] for row in rows]


def assert_apart(widgets: list[Widget]) -> None:
    """No two widgets' regions overlap."""
    for first, second in combinations(widgets, 2):
        overlap = first.region.intersection(second.region)
        assert not overlap.area, f"{first!r} and {second!r} overlap at {overlap}"


def footer_laid_out(app: App) -> bool:
    """The footer's keys are placed (a footer recomposes when the bindings change)."""
    keys = list(app.screen.query_one("Footer").children)
    return bool(keys) and all(key.region.area for key in keys)


def assert_footer_fits(app: App) -> None:
    """Every key of the footer lies whole on the screen, none over another, ? among them."""
    footer = app.screen.query_one("Footer")
    keys = list(footer.children)
    assert footer_laid_out(app), "the footer shows no key"
    for key in keys:
        assert footer.region.contains_region(key.region), f"{key.key_display} is cut"
    assert_apart(keys)
    assert "help" in [key.action.rsplit(".", 1)[-1] for key in keys]
