"""Reports of recorded runs: one recording, or the rank files of one distributed run. No torch.

The report is the one ``gradtui run`` prints (report.build_report), with the diagnosis rules
run over the recorded events. For a distributed run it is rank 0's report, plus a ``ranks``
section (per-rank figures and the spread between ranks) and any ``rank_divergence`` findings.

Files are streamed, never held: every event goes once through the diagnosis rules, the
report's RunSummary and (for rank files) the rank comparison. Rank files are read side by
side, the one furthest behind first, so the rank comparison sees each step from every rank
close together and its buffer stays small.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradtui.diagnosis import Diagnoser
from gradtui.diagnosis.ranks import RankStreams, explained_by_origin, rank_of
from gradtui.events import Diagnosis, Event, StepStats, most_severe_first
from gradtui.numbers import pct, short
from gradtui.recording import RecordingError
from gradtui.recording.parser import LineParser, shown
from gradtui.recording.reader import require_start, stream_recording
from gradtui.report.build import format_report, report_of
from gradtui.report.summary import RunSummary

MAX_RECORDED_DIAGNOSES = 10_000  # distinct (kind, layers) kept from a file's diagnosis lines


@dataclass(frozen=True)
class RunReport:
    report: dict[str, Any]
    warnings: tuple[str, ...]  # one line each: skipped lines, a missing end event


class _RankFile:
    """One file being read: its parser, its stream and the event read ahead of it."""

    def __init__(self, path: Path, fallback: int) -> None:
        self.path = path
        self.parser = LineParser(path)
        self.events: Iterator[Event] = stream_recording(path, self.parser)
        self.ended = False
        first = require_start(next(self.events, None), path)
        self.started = first
        self.rank = rank_of(first, path, fallback)
        self.head: Event | None = first
        self.position = -1  # the step of the last event handed out

    def take(self) -> Event | None:
        event, self.head = self.head, next(self.events, None)
        if isinstance(event, StepStats):
            self.position = event.step
        if event is not None and getattr(event, "type", "") in ("run_finished", "run_failed"):
            self.ended = True
        return event

    def warnings(self) -> list[str]:
        found = self.parser.summary()
        if not self.ended:
            found.append(
                f"{shown(self.path)}: no end event: the run is still going, or its writer "
                "died before writing one (killed, or the machine stopped)"
            )
        return found


def report_files(paths: Sequence[Path]) -> RunReport:
    """The report of one run from its file (or its rank files: see recording.paths.expand).
    RecordingError names a file that cannot be read or is not a recording."""
    files = [_RankFile(path, fallback) for fallback, path in enumerate(paths)]
    files.sort(key=lambda f: f.rank)
    _check_ranks_match(files)
    first = files[0]
    diagnoser, summary = Diagnoser(), RunSummary()
    recorded: dict[tuple[str, tuple[str, ...]], Diagnosis] = {}
    streams = RankStreams([f.rank for f in files]) if len(files) > 1 else None
    for file, event in _side_by_side(files):
        if streams is not None:
            streams.add(file.rank, event)
        if file is not first:
            continue
        diagnoser.observe(event)
        summary.observe(event)
        if isinstance(event, Diagnosis) and (
            len(recorded) < MAX_RECORDED_DIAGNOSES or (event.kind, event.layers) in recorded
        ):
            recorded[(event.kind, event.layers)] = event  # the latest form of each
    extra: list[Diagnosis] = []
    if streams is not None:
        streams.finish()
        extra = streams.diagnoses()
    # What the writer found over every step comes before what the rules find again in the
    # file: a thinned recording (run --record) keeps its findings, not every step they saw.
    found = merge_diagnoses(extra, recorded.values(), diagnoser.diagnoses())
    found = most_severe_first(explained_by_origin(found, first.rank))
    report = report_of(summary, found, diagnoser.links(), diagnoser.layer_status())
    if not summary.ended:
        report["steps_run"] = summary.steps_seen
    if streams is not None:
        report["ranks"] = streams.summary()
        report["ranks"]["files"] = [str(f.path) for f in files]
    return RunReport(report, tuple(w for f in files for w in f.warnings()))


def _check_ranks_match(files: list[_RankFile]) -> None:
    first = files[0]
    seen: set[int] = set()
    for file in files:
        if file.rank in seen:
            raise RecordingError(f"{shown(file.path)}: a second file of rank {file.rank}")
        seen.add(file.rank)
        same = (len(file.started.layers), len(file.started.blocks)) == (
            len(first.started.layers),
            len(first.started.blocks),
        )
        if not same:
            raise RecordingError(
                f"{shown(file.path)}: layers: not the same model as {shown(first.path)}"
            )


def _side_by_side(files: list[_RankFile]) -> Iterator[tuple[_RankFile, Event]]:
    """Every file's events, the file whose last step is furthest behind first."""
    heap = [(f.position, i) for i, f in enumerate(files)]
    heapq.heapify(heap)
    while heap:
        _, i = heapq.heappop(heap)
        file = files[i]
        event = file.take()
        if event is None:
            continue
        yield file, event
        heapq.heappush(heap, (file.position, i))


def merge_diagnoses(*groups: Iterable[Diagnosis]) -> list[Diagnosis]:
    """One per (kind, layers), most severe first, then by step."""
    seen: dict[tuple[str, tuple[str, ...]], Diagnosis] = {}
    for group in groups:
        for d in group:
            seen.setdefault((d.kind, d.layers), d)
    return most_severe_first(seen.values())


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
