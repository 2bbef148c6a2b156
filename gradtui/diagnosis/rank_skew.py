"""Rank skew: one rank of a distributed run unlike the others. No torch.

Ranks that train together should differ only in their batches. Three ways one stands apart,
each judged on steps that every rank reported:

- ``rank_straggler``: it spends longer between steps than the others (``outside_seconds``);
  they wait for it at the step's first collective, so the run goes at its pace.
- ``rank_same_batches``: every rank's loss is the same on every step: the ranks are reading
  the same batches, and N ranks do the work of one.
- ``rank_loss_differs``: one rank's loss sits above (or below) all the others' on nearly every
  step: its data are not drawn like the others'.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Sequence

from gradtui.diagnosis import thresholds as T
from gradtui.diagnosis.texts_ranks import (
    DIFFERS_FIX,
    DIFFERS_WHY,
    SAME_FIX,
    SAME_WHY,
    STRAGGLER_FIX,
    STRAGGLER_WHY,
)
from gradtui.events import Diagnosis, Evidence, StepStats
from gradtui.numbers import short

STRAGGLER = "rank_straggler"
SAME_BATCHES = "rank_same_batches"
LOSS_DIFFERS = "rank_loss_differs"
# Verdicts are taken again every this many compared steps (a median of the window each time).
JUDGE_EVERY = 16


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.0095 else f"{seconds * 1000:.1f} ms"


def _listing(ranks: Sequence[int]) -> str:
    return ", ".join(str(r) for r in ranks)


class RankSkew:
    """Takes the steps every rank reported; keeps the verdicts of the latest judgement."""

    def __init__(self, ranks: Sequence[int]) -> None:
        self.ranks = tuple(ranks)
        self._outside: dict[int, deque[float]] = {
            r: deque(maxlen=T.RANK_SKEW_WINDOW) for r in self.ranks
        }
        self._losses: deque[tuple[int, dict[int, float]]] = deque(maxlen=T.RANK_SKEW_WINDOW)
        self._same_steps = 0
        self._differing_steps = 0
        self._loss_low = math.inf
        self._loss_high = -math.inf
        self._first_same: tuple[int, float] | None = None
        self._compared = 0
        self._found: dict[str, Diagnosis] = {}
        self._announced: set[str] = set()

    def observe(self, step: int, by_rank: dict[int, StepStats]) -> list[Diagnosis]:
        """One step of every rank; returns the findings it makes known for the first time."""
        if len(self.ranks) < 2 or any(r not in by_rank for r in self.ranks):
            return []
        for rank in self.ranks:
            seconds = by_rank[rank].outside_seconds
            if seconds is not None:
                self._outside[rank].append(seconds)
        losses = {r: by_rank[r].loss for r in self.ranks}
        if all(math.isfinite(v) for v in losses.values()):
            self._count_losses(step, losses)
        self._compared += 1
        if self._compared % JUDGE_EVERY:
            return []
        return self._announce()

    def finish(self) -> list[Diagnosis]:
        return self._announce()

    def diagnoses(self) -> list[Diagnosis]:
        self._judge()
        return sorted(self._found.values(), key=lambda d: d.step)

    def _count_losses(self, step: int, losses: dict[int, float]) -> None:
        self._losses.append((step, losses))
        values = list(losses.values())
        top = max(abs(v) for v in values)
        if top == 0 or (max(values) - min(values)) / top <= T.RANK_SAME_LOSS:
            self._same_steps += 1
            if self._first_same is None:
                self._first_same = (step, values[0])
        else:
            self._differing_steps += 1
        self._loss_low = min(self._loss_low, *values)
        self._loss_high = max(self._loss_high, *values)

    def _announce(self) -> list[Diagnosis]:
        self._judge()
        new = [d for key, d in self._found.items() if key not in self._announced]
        self._announced.update(self._found)
        return new

    def _judge(self) -> None:
        found = {}
        for finding in (self._straggler(), self._same_batches(), self._loss_differs()):
            if finding is not None:
                found[finding.kind] = finding
        self._found = found

    # -- a rank slower between steps -------------------------------------------------------------
    def _straggler(self) -> Diagnosis | None:
        if any(len(self._outside[r]) < T.RANK_SKEW_MIN_STEPS for r in self.ranks):
            return None
        medians = {r: statistics.median(self._outside[r]) for r in self.ranks}
        slow = max(medians, key=medians.__getitem__)
        others = {r: m for r, m in medians.items() if r != slow}
        rest = max(others.values())
        if medians[slow] - rest < T.RANK_SLOW_SECONDS or medians[slow] < T.RANK_SLOW_FACTOR * rest:
            return None
        steps = len(self._outside[slow])
        shown = ", ".join(f"rank {r} {_ms(m)}" for r, m in sorted(others.items()))
        message = (
            f"Rank {slow} spends a median {_ms(medians[slow])} between steps (from the end of "
            f"one step to the next one's first forward), the others {shown}, over the last "
            f"{steps} steps: they wait for it at every step's first collective, so each step "
            f"of the run takes about {_ms(medians[slow] - rest)} longer than it needs to."
        )
        evidence = (
            Evidence(
                f"median seconds between steps, rank {slow}",
                round(medians[slow], 6),
                rules_in=("its data loading", "code that runs on that rank alone"),
                rules_out=("a slower device (its compute is inside the step)",),
            ),
            Evidence("largest median of the other ranks", round(rest, 6)),
            Evidence("steps compared", steps),
        )
        return Diagnosis(
            STRAGGLER,
            "warning",
            self._first_step(),
            (),
            message,
            STRAGGLER_WHY,
            STRAGGLER_FIX.format(rank=slow),
            evidence,
        )

    # -- every rank on the same batches ----------------------------------------------------------
    def _same_batches(self) -> Diagnosis | None:
        moved = self._loss_high - self._loss_low
        scale = max(abs(self._loss_high), abs(self._loss_low), 1e-30)
        if (
            self._same_steps < T.RANK_SKEW_MIN_STEPS
            or self._differing_steps
            or self._first_same is None
            or moved / scale <= T.RANK_SAME_LOSS
        ):
            return None
        step, value = self._first_same
        message = (
            f"On all {self._same_steps} steps that every rank reported, the {len(self.ranks)} "
            f"ranks' losses were equal (step {step}: {short(value)} on every rank), while the "
            f"loss itself moved from {short(self._loss_low)} to {short(self._loss_high)}: the "
            f"ranks are computing the same batches."
        )
        evidence = (
            Evidence(
                "steps with every rank's loss equal",
                self._same_steps,
                rules_in=("the same batches on every rank",),
                rules_out=("a data-parallel split of the data",),
            ),
            Evidence("steps with the ranks' losses different", 0),
        )
        return Diagnosis(
            SAME_BATCHES,
            "warning",
            step,
            (),
            message,
            SAME_WHY,
            SAME_FIX,
            evidence,
        )

    # -- one rank's loss unlike the others' ------------------------------------------------------
    def _loss_differs(self) -> Diagnosis | None:
        window = list(self._losses)
        if len(window) < T.RANK_SKEW_MIN_STEPS or self._same_steps >= len(window):
            return None
        for rank in self.ranks:
            for side, pick in (("highest", max), ("lowest", min)):
                times = sum(1 for _, losses in window if pick(losses, key=losses.get) == rank)
                if times < T.RANK_ODD_SHARE * len(window):
                    continue
                own = statistics.median(losses[rank] for _, losses in window)
                rest = statistics.median(
                    v for _, losses in window for r, v in losses.items() if r != rank
                )
                if abs(own - rest) < T.RANK_ODD_GAP * max(abs(rest), 1e-30):
                    continue
                return self._differs(rank, side, times, len(window), own, rest)
        return None

    def _differs(
        self, rank: int, side: str, times: int, steps: int, own: float, rest: float
    ) -> Diagnosis:
        others = [r for r in self.ranks if r != rank]
        message = (
            f"Rank {rank}'s loss was the {side} of the {len(self.ranks)} ranks on {times} of "
            f"the last {steps} steps, median {short(own)} against {short(rest)} for rank "
            f"{_listing(others)}."
        )
        if len(self.ranks) == 2:
            message += (
                " With two ranks this cannot say which one's data are off: check both ranks' "
                "batches."
            )
        evidence = (
            Evidence(
                f"steps with rank {rank}'s loss the {side}",
                times,
                rules_in=("that rank's data drawn unlike the others'",),
                rules_out=("chance (batches drawn alike differ both ways)",),
            ),
            Evidence(f"median loss, rank {rank}", own),
            Evidence("median loss, the other ranks", rest),
        )
        return Diagnosis(
            LOSS_DIFFERS,
            "warning",
            self._first_step(),
            (),
            message,
            DIFFERS_WHY,
            DIFFERS_FIX.format(rank=rank),
            evidence,
        )

    def _first_step(self) -> int:
        return self._losses[0][0] if self._losses else 0
