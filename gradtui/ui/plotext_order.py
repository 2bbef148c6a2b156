"""The one private plotext name gradtui touches: ``plotext._utility.no_duplicates``.

plotext (<6) drops duplicate ticks and points through a set, whose order changes from one
process to the next (strings hash differently each run): the same ticks could then land on
different rows. Replacing the helper with one that keeps the first of each, in order, draws the
same picture every time. tests/unit/test_private_apis.py fails if the name goes away.
"""

from __future__ import annotations

import plotext._utility as plotext_utility


def ordered_no_duplicates(data: list) -> list:
    return list(dict.fromkeys(data))


def keep_plotext_order() -> None:
    """Install the ordered helper; a plotext without the name is left as it is."""
    if hasattr(plotext_utility, "no_duplicates"):
        plotext_utility.no_duplicates = ordered_no_duplicates
