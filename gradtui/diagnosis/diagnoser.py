"""Incremental diagnosis of a run: feed events in order, read findings at any time.

Every rule keeps bounded state (counters and fixed-size windows), so a step costs the same at
step 10 and at step 100,000: no history is rescanned. One finding has one key; when a rule
reports the same key again (more layers, a worse severity) the diagnosis is updated in place
and keeps the step it was first seen at. ``observe`` returns only the newly fired ones;
``revision`` grows whenever anything changed, for a reader that redraws on change.
"""

from __future__ import annotations

from dataclasses import replace

from gradtui.diagnosis import texts
from gradtui.diagnosis import thresholds as T
from gradtui.diagnosis.chain import ChainLink, ChainTracker
from gradtui.diagnosis.context import Finding, LossLevel, RunInfo, StepView, faint_blocks
from gradtui.diagnosis.failure import AUTOGRAD_ERROR, failure_diagnosis
from gradtui.diagnosis.rules_activity import DEAD, SATURATED, ActivityRule
from gradtui.diagnosis.rules_chain import (
    EXPLODING,
    JUMP_KEY,
    VANISHING,
    ExplodingRule,
    VanishingRule,
)
from gradtui.diagnosis.rules_clipping import ClippingRule
from gradtui.diagnosis.rules_diverge import DIVERGENCE, DivergenceRule
from gradtui.diagnosis.rules_graph import GraphRule
from gradtui.diagnosis.rules_nonfinite import NONFINITE, NonfiniteRule
from gradtui.diagnosis.rules_params import (
    ACCUMULATION,
    FROZEN,
    MISSING,
    AccumulationRule,
    FrozenRule,
    MissingRule,
)
from gradtui.diagnosis.rules_run import LOSS, LossRule
from gradtui.diagnosis.rules_setup import SetupRule
from gradtui.diagnosis.rules_spike import SpikeRule
from gradtui.diagnosis.rules_update import UPDATE, UpdateRatioRule
from gradtui.events import (
    SEVERITY_RANK,
    Diagnosis,
    Event,
    LayerStatus,
    RunFailed,
    RunStarted,
    StepStats,
    most_severe_first,
)

# When several rules flag one layer, the status shown is the first of these.
STATUS_PRIORITY: tuple[LayerStatus, ...] = (
    "nonfinite",
    "missing",
    "exploding",
    "vanishing",
    "frozen",
    "dead",
    "saturated",
)
# Kinds that explain a layer's small or absent updates; the update-ratio rule leaves their
# layers alone so one cause is reported once.
CAUSES = {NONFINITE, MISSING, VANISHING, EXPLODING, FROZEN, DEAD, SATURATED}
# Once a run has diverged (non-finite values, or an explosion of four decades) what follows is
# its consequence: saturated units, collapsed links, stalled weights. These kinds then fire as
# notes that name the divergence, so the report leads with the cause instead of burying it.
CONSEQUENCES = {VANISHING, FROZEN, DEAD, SATURATED, UPDATE, LOSS}
_DIVERGED = {NONFINITE, DIVERGENCE}  # the keys of the findings that say the run diverged


class _Rules:
    """Every rule of one run, in the order they run (earlier ones explain layers first)."""

    def __init__(self, run: RunInfo, started: RunStarted) -> None:
        self.setup = SetupRule(run, started)
        self.graph = GraphRule(run)
        self.nonfinite = NonfiniteRule(run, started)
        self.divergence = DivergenceRule(run)
        self.missing = MissingRule(run)
        self.vanishing = VanishingRule(run)
        self.exploding = ExplodingRule(run)
        self.dead = ActivityRule(run, DEAD)
        self.saturated = ActivityRule(run, SATURATED)
        self.frozen = FrozenRule(run)
        self.accumulation = AccumulationRule(run)
        self.update = UpdateRatioRule(run)
        self.loss = LossRule(run)
        self.spike = SpikeRule(run)
        self.clipping = ClippingRule()

    def with_status(self):
        return (
            self.nonfinite,
            self.missing,
            self.vanishing,
            self.exploding,
            self.dead,
            self.saturated,
            self.frozen,
            self.setup,
        )


class Diagnoser:
    def __init__(self) -> None:
        self.started: RunStarted | None = None
        self.revision = 0
        self._run: RunInfo | None = None
        self._rules: _Rules | None = None
        self._chain: ChainTracker | None = None
        self._faint: frozenset[int] | None = None  # the chain's faint blocks, as last read
        self._loss = LossLevel()
        self._by_key: dict[str, Diagnosis] = {}
        self._covered: frozenset[int] = frozenset()
        self._diverged_at: int | None = None  # the step the run diverged at, once it has
        self._stepped = False  # a step was measured: statuses mean something

    def observe(self, event: Event) -> list[Diagnosis]:
        """Take the next event; return the diagnoses that fired for the first time on it."""
        if isinstance(event, RunStarted):
            self._start(event)
            return []
        if self._rules is None:
            return []
        if isinstance(event, StepStats):
            self._stepped = True
            return self._record(self._step(event))
        if isinstance(event, RunFailed):
            return self._record([(AUTOGRAD_ERROR, failure_diagnosis(event))])
        return []

    def diagnoses(self) -> list[Diagnosis]:
        """Every diagnosis fired so far, most severe first, then by step."""
        return most_severe_first(self._by_key.values())

    def layer_status(self) -> tuple[LayerStatus, ...]:
        """The current status of each layer, in RunStarted.layers order."""
        if self._run is None or self._rules is None:
            return ()
        if not self._stepped:
            return ("no data",) * len(self._run.layers)
        status: list[LayerStatus] = ["ok"] * len(self._run.layers)
        rank = {s: r for r, s in enumerate(STATUS_PRIORITY)}
        for rule in self._rules.with_status():
            for i, value in rule.status().items():
                if status[i] == "ok" or rank[value] < rank[status[i]]:
                    status[i] = value
        if ACCUMULATION in self._by_key:
            # .grad holds every earlier step's gradient too: the large norm shown beside a
            # layer is that sum, so a 'vanishing' badge from the chain would contradict it.
            status = ["ok" if s == "vanishing" else s for s in status]
        for i, trainable in enumerate(self._run.trainable):
            if not trainable and self._run.source == "watch":
                status[i] = "untrained"
        return tuple(status)

    def links(self) -> tuple[ChainLink, ...]:
        """The chain view: per block, this step's gain, its recent median, the cumulative."""
        return self._chain.links() if self._chain else ()

    # -- internals ---------------------------------------------------------------------------
    def _start(self, event: RunStarted) -> None:
        self.started = event
        self._run = RunInfo.from_event(event)
        self._rules = _Rules(self._run, event)
        self._chain = ChainTracker(event.blocks, T.GAIN_WINDOW)
        self._faint = None
        self._loss = LossLevel()
        self._by_key = {}
        self._covered = frozenset()
        self._diverged_at: int | None = None  # the step the run diverged at, once it has
        self._stepped = False
        self.revision += 1

    def _step(self, stats: StepStats) -> list[Finding]:
        assert self._rules is not None and self._run is not None and self._chain is not None
        rules = self._rules
        if stats.block_grad_norm is not None or self._faint is None:
            self._chain.update(stats.block_grad_norm)
            self._faint = faint_blocks(self._chain)  # changes only with a chain read
        self._loss.add(stats.loss)
        view = StepView(stats, self._run, self._chain, self._loss)
        view.faint_blocks = self._faint
        grew = any(key.startswith(EXPLODING) for key in self._by_key)
        findings = rules.setup.step(view)
        findings += rules.graph.step(view)
        findings += rules.nonfinite.step(view, grew)
        findings += rules.divergence.step(view, ACCUMULATION in self._by_key)
        findings += rules.missing.step(view)
        findings += rules.vanishing.step(view, rules.dead.mostly_dead)
        findings += rules.exploding.step(view)
        findings += rules.dead.step(view)
        findings += rules.saturated.step(view)
        findings += rules.frozen.step(view)
        findings += rules.accumulation.step(
            view, rules.frozen.reported | rules.setup.left_out_layers
        )
        slow_explained = VANISHING in self._by_key or bool(rules.vanishing.flagged)
        findings += rules.update.step(view, self._covered, slow_explained)
        # The loss blames the learning rate only when no finding explains the stalled weights.
        findings += rules.loss.step(view, slow_explained or bool(self._covered))
        findings = [(key, self._loss_follows(d) if d.kind == LOSS else d) for key, d in findings]
        if not self._by_key.keys() & _DIVERGED:  # after a divergence its bands say nothing
            findings += rules.spike.step(view)
            findings += rules.clipping.step(view)
        findings = [_with_onset(f, rules.spike) for f in findings]
        if rules.spike.just_recovered is not None:
            self._retract_jump(rules.spike.just_recovered.start, stats.step)
        cause = self._diverged_at
        if cause is None:
            cause = min((d.step for _, d in findings if _diverges(d)), default=None)
        if cause is not None:
            findings = [
                (key, _consequence(d, cause) if d.kind in CONSEQUENCES else d)
                for key, d in findings
            ]
        return findings

    def _record(self, findings: list[Finding]) -> list[Diagnosis]:
        fired = []
        for key, diagnosis in findings:
            old = self._by_key.get(key)
            if old is None:
                self._by_key[key] = diagnosis
                fired.append(diagnosis)
            else:
                worse = min(old.severity, diagnosis.severity, key=SEVERITY_RANK.__getitem__)
                self._by_key[key] = replace(diagnosis, step=old.step, severity=worse)
            if diagnosis.kind == DIVERGENCE and old is None:
                self._mark_consequences(diagnosis.step)
            if _diverges(diagnosis) and self._diverged_at is None:
                self._diverged_at = diagnosis.step
            if diagnosis.kind in CAUSES and self._run is not None:
                index = {name: i for i, name in enumerate(self._run.layers)}
                self._covered |= {index[n] for n in diagnosis.layers if n in index}
            self.revision += 1
        return fired

    def _loss_follows(self, d: Diagnosis) -> Diagnosis:
        """A loss that cannot move because no trained layer's weights move (left out of the
        optimizer, a learning rate of 0): a note that follows from that finding."""
        assert self._run is not None
        trainable = {n for n, t in zip(self._run.layers, self._run.trainable, strict=True) if t}
        for cause in self._by_key.values():
            if cause.kind == FROZEN and cause.severity != "info" and trainable <= set(cause.layers):
                prefix = f"A consequence of {FROZEN} (step {cause.step}): "
                return replace(
                    d,
                    severity="info",
                    message=prefix + d.message,
                    fix=texts.LOSS_CONSEQUENCE_FIX,
                )
        return d

    def _retract_jump(self, start: int, end: int) -> None:
        """A jump that training recovered from is the spike note's, not an explosion."""
        assert self._rules is not None
        jump = self._by_key.get(JUMP_KEY)
        if jump is None or not start <= jump.step <= end:
            return
        del self._by_key[JUMP_KEY]
        self._rules.exploding.forget_jump()
        if self._diverged_at == jump.step and not self._by_key.keys() & _DIVERGED:
            self._diverged_at = None
        self.revision += 1

    def _mark_consequences(self, step: int) -> None:
        """Findings already fired about what came after a divergence found later (by the
        loss that ended far above its start) say that they are its aftermath."""
        for key, d in list(self._by_key.items()):
            if d.kind in CONSEQUENCES and d.step >= step:
                self._by_key[key] = _consequence(d, step)


def _consequence(d: Diagnosis, cause: int) -> Diagnosis:
    """A finding about what followed the divergence at step ``cause``: a note that says so."""
    prefix = f"A consequence of the divergence at step {cause}: "
    if d.message.startswith(prefix):
        return d
    return replace(d, severity="info", message=prefix + d.message, fix=texts.CONSEQUENCE_FIX)


def _with_onset(finding: Finding, spike: SpikeRule) -> Finding:
    """A divergence that began as an unrecovered spike says where that spike began."""
    key, d = finding
    if d.kind != DIVERGENCE or spike.unrecovered is None:
        return finding
    sentence = spike.onset_sentence()
    if not sentence or sentence in d.message:
        return finding
    return key, replace(d, message=d.message + sentence, layers=d.layers or spike.onset_layers())


def _diverges(d: Diagnosis) -> bool:
    """Non-finite values, a divergence, or an explosion of four decades: the run diverged."""
    return d.kind in (NONFINITE, DIVERGENCE) or (d.kind == EXPLODING and d.severity == "error")
