"""Reports of recorded runs: one recording, or the rank files of one distributed run. No torch.

The report is the one ``gradtui run`` prints (report.build_report), with the diagnosis rules
run over the recorded events. For a distributed run it is rank 0's report, plus a ``ranks``
section (per-rank figures and the spread between ranks) and any ``rank_divergence`` findings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradtui.diagnosis.ranks import RankStreams, rank_of
from gradtui.events import (
    Diagnosis,
    Event,
    RunFailed,
    RunFinished,
    RunStarted,
    StepStats,
    most_severe_first,
)
from gradtui.numbers import pct, short
from gradtui.recording import RecordingError, read_recording
from gradtui.report.build import build_report, diagnose, format_report


@dataclass(frozen=True)
class Recorded:
    """One run as read from disk: per rank, its file and events (one entry when not ranked)."""

    paths: tuple[Path, ...]
    ranks: tuple[int, ...]
    events: tuple[list[Event], ...]
    warnings: tuple[str, ...]


def load_run(paths: Sequence[Path]) -> Recorded:
    """Read the files of one run (see ranks.expand); RecordingError names a bad file."""
    events, warnings, ranks = [], [], []
    for fallback, path in enumerate(paths):
        loaded = read_recording(path)
        if loaded.warning:
            warnings.append(loaded.warning)
        started = next((e for e in loaded.events if isinstance(e, RunStarted)), None)
        if started is None:
            raise RecordingError(f"{path}: no run_started event: not a complete recording")
        if not any(isinstance(e, RunFinished | RunFailed) for e in loaded.events):
            warnings.append(f"{path}: no end event: the run is still going, or was stopped")
        events.append(loaded.events)
        ranks.append(rank_of(started, path, fallback))
    order = sorted(range(len(paths)), key=lambda i: ranks[i])
    return Recorded(
        paths=tuple(paths[i] for i in order),
        ranks=tuple(ranks[i] for i in order),
        events=tuple(events[i] for i in order),
        warnings=tuple(warnings),
    )


def report_events(events: list[Event], extra: Iterable[Diagnosis] = ()) -> dict[str, Any]:
    """The report of one recorded stream, as ``gradtui run`` makes it (the diagnosis rules
    seeing the events one at a time), with findings recorded in the stream and ``extra``."""
    diagnoser = diagnose(events)
    recorded = [e for e in events if isinstance(e, Diagnosis)]
    found = merge_diagnoses(extra, diagnoser.diagnoses(), recorded)
    report = build_report(events, found, diagnoser.links(), diagnoser.layer_status())
    if not any(isinstance(e, RunFinished | RunFailed) for e in events):
        report["steps_run"] = sum(isinstance(e, StepStats) for e in events)
    return report


def merge_diagnoses(*groups: Iterable[Diagnosis]) -> list[Diagnosis]:
    """One per (kind, layers), most severe first, then by step."""
    seen: dict[tuple[str, tuple[str, ...]], Diagnosis] = {}
    for group in groups:
        for d in group:
            seen.setdefault((d.kind, d.layers), d)
    return most_severe_first(seen.values())


def compare_ranks(run: Recorded) -> RankStreams:
    """Every rank's events through the rank_divergence rule."""
    streams = RankStreams(run.ranks)
    for rank, events in zip(run.ranks, run.events, strict=True):
        for event in events:
            streams.add(rank, event)
    streams.finish()
    return streams


def report_run(run: Recorded) -> dict[str, Any]:
    """Rank 0's report; for several ranks, with the rank comparison added."""
    if len(run.events) == 1:
        return report_events(run.events[0])
    streams = compare_ranks(run)
    report = report_events(run.events[0], streams.diagnoses())
    report["ranks"] = streams.summary()
    report["ranks"]["files"] = [str(p) for p in run.paths]
    return report


def format_run_report(report: dict[str, Any]) -> str:
    text = format_report(report)
    ranks = report.get("ranks")
    if not ranks:
        return text
    lines = [f"ranks: {len(ranks['ranks'])}"]
    for r in ranks["ranks"]:
        lines.append(
            f"  rank {r['rank']}: {r['steps']} steps, last loss {short(r['last_loss'])}, "
            f"last grad norm {short(r['last_grad_norm_total'])}"
        )
    lines.append(
        f"  spread between ranks: last loss {short(ranks['last_loss_spread'])} (each rank has "
        f"its own data), grad norms {pct(ranks['max_grad_norm_spread'])}, weight norms "
        f"{pct(ranks['max_weight_norm_spread'])} at most (all-reduce makes these 0)"
    )
    return text + "\n" + "\n".join(lines)
