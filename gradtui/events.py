"""The contract between the engine and everything that reads a run.

Plain frozen dataclasses of numbers, strings and tuples: no torch, JSON-able, picklable. The
engine emits them; the recorder, the report, the diagnosis rules and the dashboard consume them.

Per-layer values are tuples indexed like ``RunStarted.layers`` (forward order, input side first);
per-block values are indexed like ``RunStarted.blocks``. A value that could not be measured is
``None``; a value that was measured and is not finite is ``nan`` or ``inf``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: tuple[Severity, ...] = ("error", "warning", "info")  # most severe first
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITY_ORDER)}
RunSource = Literal["scenario", "watch"]
# "untrained": a layer whose weight has requires_grad=False; "no data": no step measured yet
# (or none at all, in a run that failed at once), so nothing can be called ok.
LayerStatus = Literal[
    "ok",
    "vanishing",
    "exploding",
    "nonfinite",
    "missing",
    "frozen",
    "dead",
    "saturated",
    "untrained",
    "no data",
]


@dataclass(frozen=True)
class LayerInfo:
    """One watched module (a Linear, a norm, ...) whose ``weight`` gradient is measured."""

    name: str  # as model.named_modules() names it
    kind: str  # the module's class name
    block: int  # index into RunStarted.blocks
    params: int  # trainable parameters in this module (weight and bias)


@dataclass(frozen=True)
class GraphIssue:
    """A pattern found in the loss's autograd graph at the first step (see probe/lint.py)."""

    kind: str  # "log_of_softmax", "softmax_into_loss", "sigmoid_into_bce", "unreached"
    ops: tuple[str, ...]  # the operations involved, input side first
    params: tuple[str, ...] = ()  # for "unreached": the parameters the loss does not reach


@dataclass(frozen=True)
class RunStarted:
    type: ClassVar[str] = "run_started"
    scenario: str
    title: str
    lesson: str
    spec: dict[str, Any]  # the scenario as plain data, or {} for a user's model
    layers: tuple[LayerInfo, ...]
    # Blocks are the links of the chain, in forward order; the last one is nearest the loss.
    # The gradient of the loss with respect to each block's output is measured every step.
    blocks: tuple[str, ...]
    total_steps: int  # 0 when unknown (a user's open-ended loop)
    heavy_every: int  # steps between the heavier statistics
    activation: str = ""  # the model's activation, when one is known
    # What the rules may know about the run, typed; ``spec`` above is for display only.
    source: RunSource = "scenario"
    batch: int | None = None  # examples per step; None when not known (a user's loop)
    init: str = ""  # the scenario's weight init ("kaiming", ...); "" when not known
    optimizer: str = ""  # the optimizer's class name in lower case ("sgd", "adam"); "" unknown
    model: str = ""  # the model's class name
    rank: int | None = None  # this process's rank in a distributed run; None when not one
    world_size: int = 1
    # Found when watching began (gradtui.watch); empty when not checked (a scenario).
    not_in_optimizer: tuple[str, ...] = ()  # trainable parameters the optimizer does not hold
    # Tensors with requires_grad=True held by a module as plain attributes, not nn.Parameters:
    # model.parameters() and so the optimizer never see them ("module.attribute").
    unregistered: tuple[str, ...] = ()
    # Layers (named as modules are) that hold parameters added after watch() began.
    added_after_watch: tuple[str, ...] = ()
    # The trainable parameters' dtype ("float32", "float16", "bfloat16"; "mixed" when several;
    # "" when not known), and the optimizer's param_groups[0] weight_decay and eps (None when
    # the optimizer has no such setting or is not known).
    param_dtype: str = ""
    weight_decay: float | None = None
    eps: float | None = None


@dataclass(frozen=True)
class StepStats:
    """Statistics of one training step, measured after backward and before the optimizer."""

    type: ClassVar[str] = "step"
    step: int
    loss: float
    grad_norm_total: float  # L2 norm over every parameter's gradient, before clipping
    grad_norm_clipped: float | None  # after clipping; None when clipping is off
    # Per layer, every step: L2 norm of the weight's gradient (None when grad is None),
    # count of non-finite gradient entries, weight L2 norm, and |ΔW| / |W| of this step.
    grad_norm: tuple[float | None, ...]
    nonfinite: tuple[int, ...]
    weight_norm: tuple[float, ...]
    update_ratio: tuple[float, ...]
    # Per block: L2 norm of dL/d(output of block), an entry None if no gradient reached it.
    # The whole tuple is None on a step whose chain was not read: ``gradtui.watch`` reads it
    # on heavy steps and on the steps after one that looked odd (see probe.Probe.arm).
    block_grad_norm: tuple[float | None, ...] | None
    # L2 norm of gradients already in .grad before this step's backward: non-zero means the
    # previous step's gradients were not cleared and this step adds to them.
    carried_grad_norm: float = 0.0
    # Heavier statistics, on every `heavy_every`-th step and on any step that went non-finite.
    grad_mean_abs: tuple[float | None, ...] | None = None
    grad_max_abs: tuple[float | None, ...] | None = None
    grad_zero_frac: tuple[float | None, ...] | None = None
    # Per block, on heavy steps: share of units that were inactive on every sample of the batch
    # (ReLU family) and share of activations in the flat tails (sigmoid/tanh); None elsewhere.
    dead_frac: tuple[float | None, ...] | None = None
    saturated_frac: tuple[float | None, ...] | None = None
    # Where the first non-finite value appeared, on a non-finite step: the first module (forward
    # order) whose output was not finite; else, with a finite forward pass, the link whose
    # backward broke ("loss" when dL/d(output) itself was bad, or a block name); "backward"
    # when no link can be named; None on finite steps.
    nonfinite_source: str | None = None
    # On the first step only: what the lint of the loss's autograd graph found.
    graph_issues: tuple[GraphIssue, ...] = ()
    # The optimizer's learning rate at this step (param_groups[0]), so a schedule that reached
    # 0 shows; None when no optimizer is known.
    lr: float | None = None
    # On a non-finite step of a sharded run (FSDP2): per layer, the non-finite entries in this
    # rank's own shard (``nonfinite`` counts the whole gradient's); None elsewhere.
    nonfinite_local: tuple[int, ...] | None = None
    # In a distributed run: seconds from the end of this rank's previous step (its measurement
    # or its optimizer's update) to this step's first forward, i.e. loading the batch and any
    # code run between steps; the other ranks wait that long at the step's first collective.
    # None in a single process and on the first step.
    outside_seconds: float | None = None

    @property
    def is_heavy(self) -> bool:
        return self.grad_mean_abs is not None

    def evolve(self, **changes: Any) -> StepStats:
        """``dataclasses.replace`` for the watch path, where it runs a few times a step: the
        fields are copied as they are, without running ``__init__`` again."""
        unknown = changes.keys() - _STEP_FIELD_NAMES
        if unknown:
            raise TypeError(f"StepStats has no field {sorted(unknown)[0]!r}")
        new = object.__new__(StepStats)
        new.__dict__.update(self.__dict__, **changes)
        return new


_STEP_FIELD_NAMES = frozenset(f.name for f in fields(StepStats))


@dataclass(frozen=True)
class RunFinished:
    type: ClassVar[str] = "run_finished"
    steps_run: int
    stopped: bool = False  # True when the reader asked the run to stop early
    # Why the trainer ended the run early itself: "nonfinite" when the loss stayed NaN or inf
    # (it cannot recover); "" when it ran its course or was asked to stop.
    reason: str = ""


@dataclass(frozen=True)
class RunFailed:
    """The training step raised; the run ended there."""

    type: ClassVar[str] = "run_failed"
    step: int
    error_type: str
    message: str
    # The forward line that created the tensor whose backward failed, found by replaying the
    # failing step under anomaly detection; "" when the replay found none.
    forward_trace: str = ""


def failed_run(step: int, exc: BaseException, forward_trace: str = "", see: str = "") -> RunFailed:
    """The one way an exception becomes a RunFailed: its type and the first line of its text
    (``see`` names where the rest is, a log file for one)."""
    text = str(exc).strip()
    message = text.splitlines()[0] if text else type(exc).__name__
    if see:
        message = f"{message} (details in {see})"
    return RunFailed(step, type(exc).__name__, message, forward_trace)


@dataclass(frozen=True)
class Evidence:
    """One measured fact a finding's cause rests on, and what it decided among the candidates.

    ``value`` is a number or a short text ("float16", "finite"); ``rules_in`` and ``rules_out``
    name candidate causes (words, not codes: "optimizer update", "input batch")."""

    name: str  # what was measured: "input batch", "weights' dtype", "lr"
    value: str | float | int
    rules_in: tuple[str, ...] = ()
    rules_out: tuple[str, ...] = ()


@dataclass(frozen=True)
class Diagnosis:
    """A finding of the diagnosis rules, in plain words."""

    type: ClassVar[str] = "diagnosis"
    kind: str
    severity: Severity
    step: int  # the step it was first seen
    layers: tuple[str, ...]  # names, forward order
    message: str  # what and where, with the numbers
    why: str  # the chain-rule reason
    fix: str  # concrete changes
    # The facts the cause was chosen from; empty where a rule quotes none (and in recordings
    # made before this field existed).
    evidence: tuple[Evidence, ...] = ()


def most_severe_first(diagnoses: Iterable[Diagnosis]) -> list[Diagnosis]:
    """Most severe first, then by the step each was first seen."""
    return sorted(diagnoses, key=lambda d: (SEVERITY_RANK[d.severity], d.step))


def at_least(severity: Severity, floor: Severity) -> bool:
    """True when ``severity`` is ``floor`` or more severe."""
    return SEVERITY_RANK[severity] <= SEVERITY_RANK[floor]


Event = RunStarted | StepStats | RunFinished | RunFailed | Diagnosis
EVENT_TYPES: dict[str, type] = {
    cls.type: cls for cls in (RunStarted, StepStats, RunFinished, RunFailed, Diagnosis)
}


def event_to_dict(event: Event) -> dict[str, Any]:
    """A plain dict with a ``type`` key; floats may be non-finite (see recording for JSON)."""
    return {"type": event.type, **asdict(event)}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Inverse of ``event_to_dict``. Raises KeyError/TypeError/ValueError on a malformed dict."""
    cls = EVENT_TYPES[data["type"]]
    known = {f.name for f in fields(cls)}
    values = {k: _as_tuples(v) for k, v in data.items() if k in known and k != "spec"}
    if cls is RunStarted:
        values["spec"] = data.get("spec") or {}
        values["layers"] = tuple(LayerInfo(**layer) for layer in data["layers"])
    if cls is StepStats and data.get("graph_issues"):
        values["graph_issues"] = tuple(
            GraphIssue(**{k: _as_tuples(v) for k, v in issue.items()})
            for issue in data["graph_issues"]
        )
    if cls is Diagnosis and data.get("evidence"):
        values["evidence"] = tuple(
            Evidence(**{k: _as_tuples(v) for k, v in item.items()}) for item in data["evidence"]
        )
    return cls(**values)


def _as_tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_as_tuples(v) for v in value)
    return value
