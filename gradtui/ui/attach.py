"""``gradtui attach``: the dashboard on recordings that other processes are still writing.

A FollowSource is a replay whose events keep arriving: each tick it reads what its file grew
by (gradtui.recording.follow) and plays it with the usual controls (pause, one step, speed,
lock step). The rank files of a distributed run open as one run (screens/ranks.py); their
events also go through the rank comparison (gradtui.diagnosis.ranks), whose findings appear
among the diagnoses. The app says when a writer finishes, and when one has gone quiet without
finishing. No torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gradtui.scenario.spec import Catalog
from gradtui.text import safe_line
from gradtui.ui.app import GradApp
from gradtui.ui.feed import RunFeed
from gradtui.ui.follow_source import QUIET_SECONDS, FollowSource, make_sources
from gradtui.ui.screens.ranks import RanksDashboard

__all__ = ["AttachApp", "FollowSource"]
CHECK_SECONDS = 0.5


class AttachApp(GradApp):
    """The dashboard following live recordings (a run's rank files as one run)."""

    def __init__(
        self, paths: Sequence[Path], catalog: Catalog | None = None, speed: float | None = None
    ) -> None:
        super().__init__(catalog, speed=speed, own_runs=True)
        self.paths = list(paths)
        self.sources = make_sources(paths, speed)

    def on_mount(self) -> None:
        self.call_later(self._open_followed)

    def _open_followed(self) -> None:
        if len(self.sources) > 1:  # the rank files of one run: one dashboard
            feeds = [RunFeed(source, shown=i == 0) for i, source in enumerate(self.sources)]
            self.push_screen(RanksDashboard(feeds, [source.rank for source in self.sources]))
        else:
            self.open_sources(list(self.sources))
        self.set_interval(CHECK_SECONDS, self.check_writers)

    def check_writers(self) -> None:
        """Say once when a writer finishes, and once when one goes quiet without finishing."""
        for source in self.sources:
            name = safe_line(source.path.name, 80)
            if source.failure and not source.announced_failure:
                source.announced_failure = True
                self.notify(source.failure, title="cannot follow", severity="error", markup=False)
            for warning in source.reader.take_warnings():
                self.notify(warning, title="line skipped", severity="warning", markup=False)
            if source.restarted_unseen:
                source.restarted_unseen = False
                self.notify(
                    f"{name}: the file was truncated or replaced; reading it again from its start.",
                    title="file restarted",
                    markup=False,
                )
            if source.follower.deleted and not source.announced_deleted:
                source.announced_deleted = True
                self.notify(
                    f"{name}: the file was deleted.",
                    title="file deleted",
                    severity="warning",
                    markup=False,
                )
            if source.writer_done and not source.announced_end:
                source.announced_end = True
                self.notify(
                    f"{name}: the training process finished writing this run.",
                    title="writer finished",
                    markup=False,
                )
            quiet = source.follower.idle_seconds()
            if not source.writer_done and not source.announced_quiet and quiet > QUIET_SECONDS:
                source.announced_quiet = True
                waiting = "not created yet" if not source.path.exists() else "no new data"
                self.notify(
                    f"{name}: {waiting} for {quiet:.0f} s, and the run has not finished. "
                    "Is the training still running?",
                    title="writer quiet",
                    severity="warning",
                    markup=False,
                )
            if quiet < QUIET_SECONDS:
                source.announced_quiet = False
