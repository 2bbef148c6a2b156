"""Distributed runs: one recording per rank, and the rule that compares them. No torch.

With DDP every rank holds a replica of the model, and after backward's all-reduce every rank's
gradients are the same average; so are the weights after the optimizer step. A rank whose
gradient or weight norms differ from the others', or that went non-finite alone, has fallen
out of step with them: ``rank_divergence``. The comparison is made from the recordings, after
the fact or while attached, so watching never adds a collective call to the user's training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from gradtui.diagnosis.rank_skew import RankSkew
from gradtui.diagnosis.texts import RANK_DIVERGENCE_FIX as FIX
from gradtui.diagnosis.texts import RANK_DIVERGENCE_WHY as WHY
from gradtui.events import Diagnosis, RunStarted, StepStats
from gradtui.numbers import exact
from gradtui.recording.paths import split_rank

KIND = "rank_divergence"
# All-reduce hands every rank the same bits; a relative difference above this is not rounding.
REL_TOLERANCE = 1e-4
# Every rank non-finite at once, and the rank it started on known.
ORIGIN = "nonfinite_rank"
BATCH_WHY = (
    "Each rank computes its own loss from its own batch; the gradients are then averaged "
    "over the ranks, so one rank's NaN or inf reaches every rank's gradients and weights."
)
BATCH_FIX = (
    "Look at that rank's batch at that step (torch.isfinite on its inputs and targets: a "
    "corrupt sample or a bad shard of the dataset), then at its forward pass (rerun the step "
    "on that rank with torch.autograd.set_detect_anomaly(True)). To skip such a step on every "
    "rank, test monitor.finite after monitor.step(loss) and skip optimizer.step()."
)
SHARD_WHY = (
    "Under sharding each rank holds the entries of each gradient that its shard owns, summed "
    "over every rank's batch. This tells where the NaN/inf entries sit, not whose batch made "
    "them: with every rank's loss finite, they came from a backward pass (a 0/0, or sqrt or "
    "log at 0, on some rank's batch), or from that rank's reduction or device."
)
SHARD_FIX = (
    "Rerun that step with torch.autograd.set_detect_anomaly(True) on every rank: the rank "
    "whose backward raises made it, and the operation it names is the one to guard. If none "
    "raises, suspect that rank's device or whatever changes its gradients after the "
    "reduction (a gradient hook, unscaling, compression)."
)


def rank_of(started: RunStarted | None, path: Path, fallback: int) -> int:
    if started is not None and started.rank is not None:
        return started.rank
    _, rank = split_rank(path)
    return fallback if rank is None else rank


def _nonfinite(stats: StepStats) -> bool:
    return not (math.isfinite(stats.loss) and math.isfinite(stats.grad_norm_total))


def _spread(values: Sequence[float | None]) -> float:
    """Relative spread of finite values, (max - min) / max |v|; 0 when fewer than two."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if len(finite) < 2:
        return 0.0
    top = max(abs(v) for v in finite)
    return 0.0 if top == 0 else (max(finite) - min(finite)) / top


@dataclass
class RankCheck:
    """Compares one step's events across ranks; keeps the findings and the largest spreads."""

    ranks: tuple[int, ...]
    layers: tuple[str, ...]
    max_grad_spread: float = 0.0
    max_weight_spread: float = 0.0
    _found: dict[str, Diagnosis] = field(default_factory=dict)

    def compare(self, step: int, by_rank: dict[int, StepStats]) -> list[Diagnosis]:
        """Compare one step across ranks; returns diagnoses new or changed by it."""
        if len(by_rank) < 2:
            return []
        new: list[Diagnosis] = []
        bad = sorted(r for r, s in by_rank.items() if _nonfinite(s))
        if bad and len(bad) < len(by_rank):
            new += self._note("nonfinite", step, (), self._nonfinite_text(step, bad, by_rank))
        elif bad:
            new += self._origin(step, by_rank)
        grad_off, weight_off = self._differing_layers(by_rank)
        if grad_off or weight_off:
            new += self._note(
                "values",
                step,
                self._names(grad_off | weight_off),
                self._values_text(step, grad_off, weight_off, by_rank),
            )
        return new

    def _origin(self, step: int, by_rank: dict[int, StepStats]) -> list[Diagnosis]:
        """Every rank went non-finite together, as a reduction makes them: which rank it
        came in on, when its own loss or its own shard tells."""
        ranks = len(by_rank)
        own_loss = sorted(r for r, s in by_rank.items() if not math.isfinite(s.loss))
        if own_loss and len(own_loss) < ranks:
            text = (
                f"At step {step} the loss of rank {_listing(own_loss)} was non-finite while "
                f"the other ranks' were finite: the NaN/inf came in on that rank (its batch "
                f"or its forward pass), and reducing the gradients spread it to every rank."
            )
            return self._note("origin", step, (), text, ORIGIN, BATCH_WHY, BATCH_FIX)
        held = {
            r: [i for i, c in enumerate(s.nonfinite_local or ()) if c > 0]
            for r, s in by_rank.items()
        }
        holders = sorted(r for r, layers in held.items() if layers)
        if not holders or len(holders) == ranks:
            return []
        layers = sorted({i for r in holders for i in held[r]})
        names = self._names(set(layers))
        text = (
            f"At step {step} every rank's loss was finite, and the non-finite gradient entries "
            f"of layer {', '.join(names)} were all in the shard held by rank "
            f"{_listing(holders)}; the other ranks' shards were finite."
        )
        return self._note("origin", step, names, text, ORIGIN, SHARD_WHY, SHARD_FIX)

    def _differing_layers(self, by_rank: dict[int, StepStats]) -> tuple[set[int], set[int]]:
        grad_off, weight_off = set(), set()
        stats = list(by_rank.values())
        for i in range(len(self.layers)):
            grads = [s.grad_norm[i] for s in stats if i < len(s.grad_norm)]
            spread = _spread(grads)
            self.max_grad_spread = max(self.max_grad_spread, spread)
            some_none = any(g is None for g in grads) and not all(g is None for g in grads)
            if spread > REL_TOLERANCE or some_none:
                grad_off.add(i)
            weight = _spread([s.weight_norm[i] for s in stats if i < len(s.weight_norm)])
            self.max_weight_spread = max(self.max_weight_spread, weight)
            if weight > REL_TOLERANCE:
                weight_off.add(i)
        return grad_off, weight_off

    def _names(self, indices: set[int]) -> tuple[str, ...]:
        return tuple(self.layers[i] for i in sorted(indices))

    def _note(
        self,
        key: str,
        step: int,
        layers: tuple[str, ...],
        message: str,
        kind: str = KIND,
        why: str = WHY,
        fix: str = FIX,
    ) -> list[Diagnosis]:
        """Keep the finding (widening its layers when seen again); return it only when new,
        so a live view announces each kind of divergence once."""
        old = self._found.get(key)
        if old is None:
            self._found[key] = Diagnosis(kind, "error", step, layers, message, why, fix)
            return [self._found[key]]
        merged = tuple(dict.fromkeys([*old.layers, *layers]))
        if merged != old.layers:
            self._found[key] = replace(old, layers=merged)
        return []

    def _nonfinite_text(self, step: int, bad: list[int], by_rank: dict[int, StepStats]) -> str:
        good = sorted(set(by_rank) - set(bad))
        return (
            f"At step {step} rank {_listing(bad)} went non-finite while rank {_listing(good)} "
            f"stayed finite: after the all-reduce every rank should hold the same gradients."
        )

    def _values_text(
        self, step: int, grad_off: set[int], weight_off: set[int], by_rank: dict[int, StepStats]
    ) -> str:
        what = grad_off or weight_off
        i = min(what)
        field_name = "gradient" if grad_off else "weight"
        values = {r: (s.grad_norm[i] if grad_off else s.weight_norm[i]) for r, s in by_rank.items()}
        shown = ", ".join(f"rank {r}: {exact(v)}" for r, v in sorted(values.items()))
        return (
            f"At step {step} the ranks disagree on {len(what)} layer(s): the {field_name} norm "
            f"of layer {self.layers[i]} is {shown}. After the all-reduce these should be identical."
        )

    def diagnoses(self) -> list[Diagnosis]:
        return sorted(self._found.values(), key=lambda d: d.step)


def _listing(ranks: Sequence[int]) -> str:
    return ", ".join(str(r) for r in ranks)


class RankStreams:
    """The events of every rank of one run, as they arrive in any interleaving. A step is
    compared once every rank still running has reported it; memory stays bounded."""

    MAX_PENDING = 4096

    def __init__(self, ranks: Sequence[int]) -> None:
        self.ranks = tuple(ranks)
        self.started: dict[int, RunStarted] = {}
        self.last: dict[int, StepStats] = {}
        self.steps: dict[int, int] = dict.fromkeys(self.ranks, 0)
        self.ended: set[int] = set()
        self.check: RankCheck | None = None
        self.skew = RankSkew(self.ranks)
        self._pending: dict[int, dict[int, StepStats]] = {}

    def add(self, rank: int, event: object) -> list[Diagnosis]:
        """Take one event of one rank; returns rank_divergence findings new or widened by it."""
        if isinstance(event, RunStarted):
            self.started[rank] = event
            if self.check is None:
                self.check = RankCheck(self.ranks, tuple(layer.name for layer in event.layers))
            return []
        if isinstance(event, StepStats):
            self.last[rank] = event
            self.steps[rank] = self.steps.get(rank, 0) + 1
            self._pending.setdefault(event.step, {})[rank] = event
            return self._compare_ready()
        if getattr(event, "type", "") in ("run_finished", "run_failed"):
            self.ended.add(rank)
            return self._compare_ready()
        return []

    def _compare_ready(self) -> list[Diagnosis]:
        if self.check is None:
            return []
        running = [r for r in self.ranks if r not in self.ended]
        found: list[Diagnosis] = []
        for step in sorted(self._pending):
            by_rank = self._pending[step]
            if any(r not in by_rank for r in running) and len(self._pending) <= self.MAX_PENDING:
                break
            found += self.check.compare(step, by_rank)
            found += self.skew.observe(step, by_rank)
            del self._pending[step]
        return found

    def finish(self) -> list[Diagnosis]:
        """Every rank is done: compare the steps still waiting (those some rank never had)."""
        self.ended.update(self.ranks)
        return self._compare_ready() + self.skew.finish()

    def diagnoses(self) -> list[Diagnosis]:
        found = [*(self.check.diagnoses() if self.check else []), *self.skew.diagnoses()]
        return sorted(found, key=lambda d: d.step)

    def summary(self) -> dict[str, object]:
        """Per-rank figures and the spread between ranks, JSON-able."""
        losses = {r: self.last[r].loss for r in self.ranks if r in self.last}
        finite = [v for v in losses.values() if math.isfinite(v)]
        return {
            "ranks": [
                {
                    "rank": r,
                    "steps": self.steps.get(r, 0),
                    "last_loss": _finite_or_none(losses.get(r)),
                    "last_grad_norm_total": _finite_or_none(
                        self.last[r].grad_norm_total if r in self.last else None
                    ),
                }
                for r in self.ranks
            ],
            "last_loss_spread": (max(finite) - min(finite)) if len(finite) > 1 else 0.0,
            "max_grad_norm_spread": self.check.max_grad_spread if self.check else 0.0,
            "max_weight_norm_spread": self.check.max_weight_spread if self.check else 0.0,
        }


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def explained_by_origin(found: Sequence[Diagnosis], first_rank: int) -> list[Diagnosis]:
    """One rank's own non-finite findings, once the rank where it began is known: that
    rank's file sees only the spread values, so its guess at the cause gives way."""
    origins = [d for d in found if d.kind == ORIGIN]
    if not origins:
        return list(found)
    seen = (
        "Every rank's gradients went non-finite at once because they are reduced over the "
        f"ranks; the {ORIGIN} finding names the rank where it began."
    )
    return [
        replace(
            d,
            severity="info",
            message=f"As rank {first_rank} saw it: {d.message}",
            why=seen,
            fix=f"See the {ORIGIN} finding.",
        )
        if d.kind == "nonfinite" and d.step >= origins[0].step
        else d
        for d in found
    ]
