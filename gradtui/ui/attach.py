"""``gradtui attach``: the dashboard on recordings that other processes are still writing.

A FollowSource is a replay whose events keep arriving: each tick it reads what its file grew
by (gradtui.recording.follow) and plays it with the usual controls (pause, one step, speed,
lock step). The rank files of a distributed run open side by side; their events also go
through the rank comparison (gradtui.diagnosis.ranks), whose findings appear in every rank's
diagnoses. The app says when a writer finishes, and when one has gone quiet without
finishing. No torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gradtui.diagnosis.ranks import RankStreams, rank_of
from gradtui.events import Diagnosis, Event, RunStarted
from gradtui.recording import RecordingError
from gradtui.recording.follow import Follower
from gradtui.scenario.spec import Catalog
from gradtui.text import safe_line
from gradtui.ui.app import GradApp
from gradtui.ui.sources import POLL_BUDGET_S, ReplaySource

QUIET_SECONDS = 20.0  # a writer silent this long without finishing gets a notice
CHECK_SECONDS = 0.5


class RankWatch:
    """The rank comparison shared by the sources of one distributed run."""

    def __init__(self, ranks: Sequence[int]) -> None:
        self.streams = RankStreams(ranks)
        self.inboxes: dict[int, list[Diagnosis]] = {r: [] for r in ranks}

    def add(self, rank: int, events: list[Event]) -> None:
        for event in events:
            for found in self.streams.add(rank, event):
                for inbox in self.inboxes.values():
                    inbox.append(found)

    def take(self, rank: int) -> list[Diagnosis]:
        found, self.inboxes[rank] = self.inboxes[rank], []
        return found


class FollowSource(ReplaySource):
    live = True

    def __init__(
        self,
        path: Path,
        speed: float | None = None,
        rank: int = 0,
        ranks: RankWatch | None = None,
    ) -> None:
        super().__init__([], speed)
        self.path = path
        self.rank = rank
        self.ranks = ranks
        self.follower = Follower(path)
        self.announced_end = False
        self.announced_quiet = False
        self.announced_deleted = False
        self.restarted_unseen = False
        self.failure = ""  # why the file cannot be followed
        self.announced_failure = False
        self._title = path.name

    def poll(self, budget_s: float = POLL_BUDGET_S) -> list[Event]:
        try:
            new = [] if self.failure else self.follower.poll()
        except RecordingError as exc:  # not a recording, or unreadable: say so, stop reading
            self.failure = str(exc)
            new = []
        if self.follower.restarted:  # a new run started in the same file, or it was cut
            self.restarted_unseen = True
            super().restart()
            self.recorded = []
        for event in new:
            if isinstance(event, RunStarted):
                self._title = event.title
        if self.ranks is not None:
            self.ranks.add(self.rank, new)
            new = new + list(self.ranks.take(self.rank))
        self.recorded.extend(new)
        out = super().poll(budget_s)
        del self.recorded[: self.cursor]  # played: let it go, memory stays bounded
        self.cursor = 0
        return out

    def restart(self) -> None:
        """Play the recording again from its first line."""
        super().restart()
        self.recorded = []
        self.follower = Follower(self.path)
        self.failure = ""
        self.announced_failure = False

    @property
    def writer_done(self) -> bool:
        return self.follower.finished

    @property
    def title(self) -> str:
        return self._title


def make_sources(paths: Sequence[Path], speed: float | None) -> list[FollowSource]:
    """One source per file; rank files share a rank comparison."""
    if len(paths) == 1:
        return [FollowSource(paths[0], speed)]
    ranks = [_rank_from_name(path, i) for i, path in enumerate(paths)]
    watch = RankWatch(ranks)
    return [FollowSource(p, speed, r, watch) for p, r in zip(paths, ranks, strict=True)]


def _rank_from_name(path: Path, fallback: int) -> int:
    return rank_of(None, path, fallback)


class AttachApp(GradApp):
    """The dashboard (or, for rank files, the side-by-side view) following live recordings."""

    def __init__(
        self, paths: Sequence[Path], catalog: Catalog | None = None, speed: float | None = None
    ) -> None:
        super().__init__(catalog, speed=speed)
        self.paths = list(paths)
        self.sources = make_sources(paths, speed)

    def on_mount(self) -> None:
        # Textual runs GradApp.on_mount after this one (it pushes the picker): open the run
        # once it has, so escape leads back to the picker as it does from a replay.
        self.call_later(self._open_followed)

    def _open_followed(self) -> None:
        self.open_sources(list(self.sources))
        self.set_interval(CHECK_SECONDS, self.check_writers)

    def check_writers(self) -> None:
        """Say once when a writer finishes, and once when one goes quiet without finishing."""
        for source in self.sources:
            name = safe_line(source.path.name, 80)
            if source.failure and not source.announced_failure:
                source.announced_failure = True
                self.notify(source.failure, title="cannot follow", severity="error", markup=False)
            for warning in source.follower.take_warnings():
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
