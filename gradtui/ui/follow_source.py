"""Sources that follow a recording another process may still be writing. No torch.

A FollowSource is a replay whose events keep arriving: each tick it reads what its file grew
by (gradtui.recording.follow) and plays it with the usual controls (pause, one step, speed,
lock step). The rank files of a distributed run share a rank comparison
(gradtui.diagnosis.ranks), whose findings appear in every rank's diagnoses.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gradtui.diagnosis.ranks import RankStreams, rank_of
from gradtui.events import Diagnosis, Event, RunStarted
from gradtui.recording.backlog import FollowReader
from gradtui.recording.follow import Follower
from gradtui.ui.sources import CHUNK_EVENTS, POLL_BUDGET_S, ReplaySource

QUIET_SECONDS = 20.0  # a writer silent this long without finishing is called quiet


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
        self.reader = FollowReader(path)
        self.announced_end = False
        self.announced_quiet = False
        self.announced_deleted = False
        self.restarted_unseen = False
        self.announced_failure = False
        self._title = path.name

    def start(self) -> None:
        super().start()
        self.reader.start()

    @property
    def follower(self) -> Follower:
        return self.reader.follower

    @property
    def failure(self) -> str:
        """Why the file cannot be followed (not a recording, unreadable); reading stopped."""
        return self.reader.failure

    def shown_every(self) -> int:
        return self.reader.every

    def poll(self, budget_s: float = POLL_BUDGET_S) -> list[Event]:
        """Plays what the reader thread has parsed, taking a bounded batch at a time."""
        restarted, new = self.reader.take(max(0, CHUNK_EVENTS - len(self.recorded)))
        if restarted:  # a new run started in the same file, or it was cut
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
        self.reader.stop()
        self.reader = FollowReader(self.path)
        self.reader.start()
        self.announced_failure = False

    def signal_stop(self) -> None:
        self.reader.stop()

    def close(self) -> None:
        self.reader.stop()

    @property
    def writer_done(self) -> bool:
        return self.follower.finished

    def silent_seconds(self) -> float | None:
        """How long the writer has been quiet without finishing, once that is suspicious."""
        if self.writer_done:
            return None
        quiet = self.follower.idle_seconds()
        return quiet if quiet >= QUIET_SECONDS else None

    def reopened(self) -> FollowSource:
        return FollowSource(self.path, self.speed)

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
