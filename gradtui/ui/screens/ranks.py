"""A distributed run's rank files as one run.

Every rank's gradient and weight norms are the same (all-reduced under DDP, the whole
tensors' under FSDP2), so the panels show them once, from the lowest rank; the Ranks panel
shows what does differ (steps, rate, loss, non-finite steps, a rank that went quiet), and the
rank comparison's findings (gradtui.diagnosis.ranks) join the lowest rank's diagnoses."""

from __future__ import annotations

from collections.abc import Sequence

from textual.containers import Container

from gradtui.diagnosis.ranks import RankStreams
from gradtui.ui.feed import RunFeed
from gradtui.ui.screens.dashboard import DashboardScreen
from gradtui.ui.widgets.ranks import RanksPanel


class RanksDashboard(DashboardScreen):
    CSS = "#ranks-box { height: auto; }"
    # The ranks of one run are already in step (their collectives see to it), and only rank
    # 0's panels are drawn: a backlog drains as fast as it can be read, up to what the rank
    # comparison holds waiting for a step of every rank.
    LOCK_LEAD = RankStreams.MAX_PENDING // 2

    def __init__(self, feeds: Sequence[RunFeed], ranks: Sequence[int], **kwargs) -> None:
        super().__init__(feeds[0], **kwargs)
        self.feeds = list(feeds)  # every rank is read, locked in step, and closed at the end
        self.ranks = list(ranks)

    def on_mount(self) -> None:
        box = Container(RanksPanel(), id="ranks-box", classes="panel")
        box.border_title = f"Ranks · {len(self.ranks)} files, one run"
        self.query_one("#right").mount(box, before="#diag-box")
        super().on_mount()

    def announce_new(self, feed: RunFeed) -> None:
        if feed is self.feed:  # every rank finds the same: say it once
            super().announce_new(feed)

    def redraw(self, full: bool = True) -> None:
        super().redraw(full)
        for panel in self.query(RanksPanel):
            panel.show(self.feeds, self.ranks)
