"""gradtui attach: the dashboard follows a recording that another process is writing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gradtui.scenario.spec import discover
from gradtui.ui.attach import AttachApp
from gradtui.ui.screens.dashboard import DashboardScreen
from gradtui.ui.widgets.header import RunHeader
from tests.ui.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]
SIZE = (130, 42)


def notices(app) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def test_attach_follows_a_training_script_until_it_finishes(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "live.jsonl"
    writer = subprocess.Popen(
        [
            sys.executable, str(ROOT / "examples" / "plain_mlp.py"),
            "--steps", "40", "--sleep", "0.1", "--record", str(path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        app = AttachApp([path], catalog=discover())
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), 10)
            history = app.screen.feed.history
            # started before the file existed; steps show while the writer is still going
            await wait_for(pilot, lambda: history.steps_seen >= 3, 60)
            assert writer.poll() is None and not history.ended
            assert history.started is not None and history.started.scenario == "live"
            seen = history.steps_seen
            await wait_for(pilot, lambda: history.steps_seen > seen, 30)
            await wait_for(pilot, lambda: history.ended, 60)
            assert history.state == "finished" and history.steps_seen == 40
            await wait_for(pilot, lambda: any("writer finished" in n for n in notices(app)), 5)
            assert "finished" in app.screen.query_one(RunHeader)._text.plain
    finally:
        writer.wait(60)


async def test_attach_shows_rank_files_as_one_run_with_their_divergence(tmp_path: Path) -> None:
    from gradtui.events import LayerInfo, RunFinished, RunStarted, StepStats
    from gradtui.recording import Recorder
    from gradtui.recording.paths import rank_path
    from gradtui.ui.screens.ranks import RanksDashboard
    from gradtui.ui.widgets.ranks import RanksPanel, rank_rows

    base = tmp_path / "exp.jsonl"
    for rank in (0, 1):
        with Recorder(rank_path(base, rank)) as recorder:
            layers = (LayerInfo("fc", "Linear", 0, 10),)
            recorder(RunStarted("exp", f"exp · rank {rank}/2", "", {}, layers, ("fc",), 0, 4))
            for i in range(5):
                grad = 1.0 if rank == 0 or i < 3 else 1.5
                recorder(
                    StepStats(i, 1.0 + rank, grad, None, (grad,), (0,), (2.0,), (1e-3,), (0.5,))
                )
            recorder(RunFinished(5))
    app = AttachApp([rank_path(base, 0), rank_path(base, 1)], catalog=discover())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RanksDashboard), 10)
        screen = app.screen
        feeds = screen.feeds
        assert len(feeds) == 2 and screen.feed is feeds[0]
        # the panels draw rank 0's history; rank 1 keeps only what the Ranks panel shows
        assert feeds[0].history.shown and not feeds[1].history.shown
        await wait_for(pilot, lambda: all(f.history.ended for f in feeds), 20)

        def divergence_found() -> bool:
            return ("rank_divergence", 3) in [
                (d.kind, d.step) for d in screen.feed.history.diagnoses()
            ]

        await wait_for(pilot, divergence_found, 5)
        await pilot.pause(0.3)
        rows = rank_rows(feeds, screen.ranks)
        assert [(r[0], r[1], r[3], r[5], r[-1]) for r in rows] == [
            ("0", "5", "1", "-", "finished"),
            ("1", "5", "2", "-", "finished"),
        ]
        assert screen.query_one(RanksPanel).region.height >= 3  # on screen: heading, two ranks


def test_attach_command_waits_for_the_files_and_opens_rank_files_together(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    import threading

    from gradtui import cli
    from gradtui.recording.paths import rank_path
    from gradtui.ui import attach

    opened: list[list[Path]] = []
    monkeypatch.setattr(attach.AttachApp, "run", lambda self: opened.append(self.paths))
    base = tmp_path / "exp.jsonl"
    ranks = [rank_path(base, r) for r in (0, 1)]

    def write_later() -> None:
        for path in ranks:
            path.write_text("")

    threading.Timer(0.3, write_later).start()
    assert cli.main(["attach", str(base)]) == 0
    assert "waiting for" in capsys.readouterr().err
    assert opened == [ranks]
    assert cli.main(["attach", str(base), str(tmp_path / "other.jsonl")]) == 2
