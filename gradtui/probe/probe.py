"""Per-layer statistics of one training step, measured in vectorised passes.

Every step costs a few stacked reductions (see ``norms``) and a single transfer to Python:
the gradient norms of this step and the weight-update norms of the previous step travel
together, so the event for step t is completed (and emitted) at step t+1 or at ``flush``.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from gradtui.events import StepStats
from gradtui.probe.heavy import ActivationTally, gradient_spread
from gradtui.probe.marks import NO_MARKS, GradientMarks, grad_norms_now
from gradtui.probe.norms import NormPlan
from gradtui.probe.private_torch import set_grad_enabled
from gradtui.probe.reading import Reading
from gradtui.probe.sharded_probe import ShardedLayout
from gradtui.probe.shards import ShardReduce, local_part
from gradtui.probe.taps import accumulate, gradients_of
from gradtui.probe.updates import (
    SAMPLE_ABOVE,
    UpdateTracker,
    plain_sgd,
    sample_stride,
    sampled,
)

# Under plain SGD the weights' norms are read on heavy steps and kept in between, while the
# updates since the last read (|ΔW| = lr·|grad|, known each step) could have moved a norm by
# at most this share of it: the update ratios are then off by at most this share too, and a
# run whose weights move fast (one diverging) has its weights read every step.
WEIGHT_NORM_DRIFT = 0.01
# Plans kept for different sets of measured shapes (a last, smaller batch makes a second one;
# a model fed sequences of varying length could make one per step).
MAX_READINGS = 8


def _root_sum_square(values: Sequence[float]) -> float:
    # hypot is exact-rounded and avoids overflow; with an inf among NaNs it says inf, and any
    # non-finite total marks the step as bad either way.
    return math.hypot(*values)


def first_tensor(output: object) -> torch.Tensor | None:
    """A module's output as one tensor: itself, or the first tensor of a tuple or list."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, tuple | list):
        return next((o for o in output if isinstance(o, torch.Tensor)), None)
    return None


_GRAD = operator.attrgetter("grad")


def any_gradient(params: Sequence[torch.Tensor]) -> bool:
    """Whether any of ``params`` has a ``.grad``: C-level iteration, for hooks that run each
    step on models with many parameters."""
    return any(map(operator.is_not, map(_GRAD, params), itertools.repeat(None)))


def _forward_hooks_on(
    handles: list[RemovableHandle],
    hooks: Sequence[tuple[nn.Module, Callable[..., Any]]],
    armed: bool,
) -> list[RemovableHandle]:
    """The handles of ``hooks`` put on (``armed``) or taken off, as they were if already so."""
    if armed and not handles:
        return [module.register_forward_hook(hook) for module, hook in hooks]
    if not armed and handles:
        for handle in handles:
            handle.remove()
        return []
    return handles


def _unguarded(hook: Callable[..., Any]) -> Callable[..., Any]:
    return hook


@dataclass(frozen=True)
class Watched:
    """What the probe measures: layers (weight grads), blocks (output grads), activations."""

    layers: Sequence[tuple[str, nn.Module]]
    blocks: Sequence[tuple[str, nn.Module]]
    activations: Sequence[tuple[int, nn.Module]]  # (block index, activation module)
    layer_blocks: Sequence[int]  # the block each layer belongs to
    # The parameter measured for each layer; None means each layer's ``weight``. (A user's
    # nn.MultiheadAttention, for one, keeps its projections in ``in_proj_weight``.)
    weights: Sequence[nn.Parameter] | None = None


class Probe:
    """``guard`` wraps every hook the probe registers (a monitor on a user's model passes one
    that turns an error of ours into a log line instead of an exception in their forward).

    With ``sample_chain`` the block hooks, two Python calls per link and step, are on only
    for heavy steps (every ``heavy_every``-th, and the step after one that looked odd: a
    layer's gradient newly zero, or a non-finite step); other steps leave the chain unread
    (``block_grad_norm`` None). Without it, every step reads the chain."""

    def __init__(
        self,
        model: nn.Module,
        watched: Watched,
        heavy_every: int,
        guard: Callable[[Callable[..., Any]], Callable[..., Any]] = _unguarded,
        block_hooks: bool = True,
        optimizer: torch.optim.Optimizer | None = None,
        gradients_may_change: bool = False,
        sample_chain: bool = False,
    ) -> None:
        self.heavy_every = heavy_every
        self.watched = watched
        self._guard = guard
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.weights = (
            list(watched.weights)
            if watched.weights is not None
            else [module.weight for _, module in watched.layers]
        )
        index_of = {id(p): i for i, p in enumerate(self.params)}
        self.weight_param_index = [index_of[id(w)] for w in self.weights]
        shards = ShardReduce.of(self.params)
        whole = self.weights
        if shards is not None:  # the updates are measured from copies of the local shards
            optimizer = None
            self.weights = [local_part(w).detach() for w in whole]
        self.n_blocks = len(watched.blocks)
        self._block_grads: list[torch.Tensor | None] = [None] * self.n_blocks
        self._taps: list[torch.Tensor | None] = [None] * self.n_blocks
        self._activations = ActivationTally()  # what each activation saw, on heavy steps
        self._spread_plans: dict[tuple, NormPlan] = {}
        self._heavy_armed = False
        self._armed_step: int | None = None
        # Layers whose gradient was exactly zero last step. When one joins them, the next step
        # is heavy too: dead units, the usual cause, are seen when it happens, not k steps on.
        self._zero_grads: frozenset[int] = frozenset()
        self._look_closer = False
        self._updates = UpdateTracker(self.weights, [w.numel() for w in whole] if shards else None)
        self._sharded = (
            None if shards is None else ShardedLayout(shards, self.params, whole, self._updates)
        )
        self._no_nonfinite = (0,) * len(self.weights)
        self._no_update = (0.0,) * len(self.weights)
        # Given the optimizer, plain SGD's update sizes follow from the gradient norms and no
        # copy of the weights is needed. When the caller's code may change the gradients
        # between the probe's look and the optimizer step (a user's loop may clip or unscale
        # them), each gradient's identity and version are kept and checked at the step.
        self._sgd = plain_sgd(optimizer, self.weights)
        self._sgd_checks = gradients_may_change
        # Measured with the gradients under plain SGD: a large weight through a fixed sample
        # of its entries, as UpdateTracker measures it otherwise (the scale makes up for it).
        strides = [sample_stride(w) if w.numel() > SAMPLE_ABOVE else 0 for w in self.weights]
        self._weight_samples = [(i, s) for i, s in enumerate(strides) if s]
        self._weight_scales = [
            math.sqrt(w.numel() / sampled(w, s).numel()) if s else 1.0
            for w, s in zip(self.weights, strides, strict=True)
        ]
        self._seen_grads = NO_MARKS
        self._weight_norms: tuple[float, ...] | None = None  # last read, plain SGD only
        self._weight_drift = [0.0] * len(self.weights)  # sum of |ΔW| since that read
        self._weights_stale = True
        self._readings: dict[tuple, Reading] = {}  # by which gradients are present
        self._pending: StepStats | None = None
        self._completed: StepStats | None = None
        self._carried: list[torch.Tensor] = []
        self._carried_sharded: list[bool] = []
        self._nonfinite_here: tuple[int, ...] = ()  # a sharded step's: this rank's shards
        # Without block hooks the model must call ``tap`` on each block output itself.
        self._block_hooks = [
            (module, guard(self._block_hook(i)))
            for i, (_, module) in enumerate(watched.blocks)
            if block_hooks
        ]
        self._sample_chain = sample_chain and bool(self._block_hooks)
        self._chain_read = True
        self._handles = (
            []
            if self._sample_chain
            else [module.register_forward_hook(hook) for module, hook in self._block_hooks]
        )
        self._activation_handles: list[RemovableHandle] = []  # only in a heavy step's forward
        self._activation_hooks: list[tuple[nn.Module, Callable[..., Any]]] | None = None

    # -- hooks -----------------------------------------------------------------------------
    def _block_hook(self, index: int):
        """Catch the gradient that will arrive at block ``index``'s output during a backward
        pass the caller runs (a user's loop). It runs for every link of every step, so it is
        one Python call in the forward and one in the backward."""

        def on_forward(_module: nn.Module, _inputs: object, output: object) -> None:
            tensor = output if type(output) is torch.Tensor else first_tensor(output)
            if tensor is None or not tensor.requires_grad:
                return
            store = self._block_grads.__setitem__
            node = tensor.grad_fn
            if node is None:
                tensor.register_hook(lambda grad: store(index, grad))
                return
            # A pre-hook on the node that made the output sees the same gradient as a tensor
            # hook would, and costs less to register.
            slot = tensor.output_nr
            node.register_prehook(lambda grads: store(index, grads[slot]))

        return on_forward

    def tap(self, index: int, output: torch.Tensor) -> None:
        """A model that knows its blocks hands each output here (no hooks); ``backward`` then
        returns the gradient at every tapped output along with the parameters' gradients."""
        self._taps[index] = output if output.requires_grad else None

    def backward(self, loss: torch.Tensor) -> None:
        """``loss.backward()`` for a model that taps its blocks: one pass of autograd hands
        back the parameters' gradients (accumulated into ``.grad`` as backward would) and the
        gradient at each tapped block output, which no hook then has to catch."""
        taps = self._taps
        outputs = [t for t in taps if t is not None]
        grads = gradients_of(loss, (*self.params, *outputs))
        count = len(self.params)
        accumulate(self.params, grads[:count])
        captured = iter(grads[count:])
        self._block_grads = [None if t is None else next(captured) for t in taps]

    def _activation_hook(self, block: int, kind: str):
        def on_forward(_module: nn.Module, inputs: tuple[torch.Tensor, ...], _out: object) -> None:
            if inputs and isinstance(inputs[0], torch.Tensor):
                self._activations.add(block, kind, inputs[0])  # detached there: no graph

        return on_forward

    def remove(self) -> None:
        for handle in [*self._handles, *self._activation_handles]:
            handle.remove()
        self._handles.clear()
        self._activation_handles.clear()

    def _arm_block_hooks(self, armed: bool) -> None:
        self._handles = _forward_hooks_on(self._handles, self._block_hooks, armed)

    def _arm_activation_hooks(self, armed: bool) -> None:
        """Activation hooks cost a call per module per forward: attach them only when used."""
        if armed and self._activation_hooks is None:  # made once: wrapping costs more
            self._activation_hooks = [
                (module, self._guard(self._activation_hook(block, type(module).__name__)))
                for block, module in self.watched.activations
            ]
        self._activation_handles = _forward_hooks_on(
            self._activation_handles, self._activation_hooks or [], armed
        )

    # -- one step ----------------------------------------------------------------------------
    def before_forward(self, step: int) -> None:
        """Call before the forward pass; notes gradients a missing zero_grad() left behind."""
        self.arm(step)
        # Measured now: backward accumulates into these very tensors, in place.
        self.set_carried(self.carried_norms())

    def arm(self, step: int) -> None:
        """Start a step: heavy statistics on or off, last step's block gradients forgotten.
        Arming again within a step (one forward per micro-batch) keeps the step's choice."""
        if step != self._armed_step:
            self._armed_step = step
            self._heavy_armed = step % self.heavy_every == 0 or self._look_closer
            self._look_closer = False
        self._arm_activation_hooks(self._heavy_armed)
        if self._sample_chain:
            self._arm_block_hooks(self._heavy_armed)
            self._chain_read = self._heavy_armed
        self._activations.clear()
        self._block_grads = [None] * self.n_blocks
        self._taps = [None] * self.n_blocks

    @property
    def sharded(self) -> bool:
        """The model's parameters are shards (FSDP2): see sharded_probe."""
        return self._sharded is not None

    @property
    def heavy_armed(self) -> bool:
        return self._heavy_armed

    def carried_norms(self) -> list[torch.Tensor]:
        """Norms of the gradients now in .grad: one vectorised call, nothing transferred."""
        if self._sharded is not None:
            carried, self._carried_sharded = self._sharded.carried(self.params)
        else:
            carried = [p.grad for p in self.params if p.grad is not None]
        if not carried:
            return []
        with torch.no_grad():
            return list(torch._foreach_norm(carried))

    def set_carried(self, norms: list[torch.Tensor]) -> None:
        """What ``after_backward`` reports as carried_grad_norm: norms taken before this
        step's gradients were accumulated (by ``before_forward``, or by a caller that knows
        a better moment, such as a hook that runs just before accumulation)."""
        self._carried = norms

    def after_backward(self, step: int, loss: torch.Tensor) -> StepStats:
        """Measure this step's gradients (before clipping). Returns the event without its
        update ratios, which only the optimizer step can tell; see ``after_optimizer``.

        A few stacked reductions over every tensor measured, one concatenation, one transfer.
        """
        grads = list(map(_GRAD, self.params))
        if self._sharded is not None:
            grads = self._sharded.local_grads(grads)
        present = [g for g in grads if g is not None]
        block_grads = self._block_grads
        # Let go of the block outputs and their gradients as soon as they are read: memory
        # the probe holds on to is memory the next step cannot reuse, warm in the cache.
        self._block_grads = [None] * self.n_blocks
        self._taps = [None] * self.n_blocks
        block_present = [g for g in block_grads if g is not None]
        # Under plain SGD the weights need no copy kept: measure them with the gradients,
        # when due (see WEIGHT_NORM_DRIFT).
        read_weights = self._sgd is not None and (
            self._weights_stale or self._heavy_armed or self._weight_norms is None
        )
        measured = [*present, *block_present, *(self._weights_measured() if read_weights else ())]
        key = (
            len(present) == len(grads) or tuple(g is not None for g in grads),
            read_weights,
            *(g.shape for g in block_present),
        )
        reading = self._readings.get(key)
        if reading is None:
            if len(self._readings) >= MAX_READINGS:  # shapes that keep changing: start over
                self._readings.clear()
            reading = self._readings[key] = Reading(
                self.weight_param_index, grads, block_grads, measured, self._sharded is None
            )
        plan, updates = reading.plan, self._updates
        changed = self._pending is not None and updates.changed
        grad_mode = torch.is_grad_enabled()
        set_grad_enabled(False)  # torch.no_grad() without its Python layers
        try:
            first = loss.reshape(1) if loss.dtype is torch.float32 else loss.float().reshape(1)
            parts = [first, *plan.norms(plan.gather(measured))]
            if changed:  # before the snapshot below reuses their buffers
                change_norms = updates.change_norms()
            if self._sgd is None:
                parts += updates.snapshot()
            if changed:
                parts += change_norms
            if self._carried:
                parts.append(torch.stack(self._carried))
            joined = torch.cat(parts)
            if self._sharded is not None:
                joined = self._sharded.reduce(
                    joined,
                    [g is not None for g in grads],
                    len(block_present),
                    (self._sgd is None) + changed,
                    self._carried_sharded if self._carried else [],
                )
            values = joined.tolist()
        finally:
            set_grad_enabled(grad_mode)
        loss_value = values[0]
        grad_norm = tuple([values[i] if i else None for i in reading.grad_at])
        block_norm = (
            tuple([values[i] if i else None for i in reading.block_at])
            if self._chain_read
            else None
        )
        cursor = 1 + plan.size
        if self._sgd is None:
            weight_norm = tuple(updates.arrange(values[cursor : cursor + updates.size]))
            cursor += updates.size
        elif read_weights or self._weight_norms is None:
            weight_norm = tuple(
                [
                    values[i] * scale
                    for i, scale in zip(reading.weight_at, self._weight_scales, strict=True)
                ]
            )
            self._weight_norms = weight_norm
            self._weight_drift = [0.0] * len(weight_norm)
            self._weights_stale = False
        else:
            weight_norm = self._weight_norms
        if changed:
            self._complete_pending(updates.arrange(values[cursor : cursor + updates.size]))
            cursor += updates.size
        grad_norm_total = _root_sum_square([values[i] for i in reading.param_at])
        went_bad = not (math.isfinite(loss_value) and math.isfinite(grad_norm_total))
        stats = StepStats(
            step=step,
            loss=loss_value,
            grad_norm_total=grad_norm_total,
            grad_norm_clipped=None,
            grad_norm=grad_norm,
            nonfinite=self._count_nonfinite(grad_norm) if went_bad else self._no_nonfinite,
            weight_norm=weight_norm,
            update_ratio=self._no_update,
            block_grad_norm=block_norm,
            carried_grad_norm=_root_sum_square(values[cursor:]),
        )
        if self._sgd is not None and self._sgd_checks:
            self._seen_grads = GradientMarks(self.weights)
        zero = (
            frozenset(i for i, norm in enumerate(grad_norm) if norm == 0.0)
            if 0.0 in grad_norm
            else frozenset()
        )
        self._look_closer = went_bad or not zero <= self._zero_grads
        self._zero_grads = zero
        if went_bad and self._sharded is not None:
            stats = replace(stats, nonfinite_local=self._nonfinite_here)
        if self._heavy_armed or went_bad:
            stats = self._with_heavy(stats)
        return stats

    def _weights_measured(self) -> list[torch.Tensor]:
        weights = list(self.weights)
        for index, stride in self._weight_samples:
            weights[index] = sampled(weights[index], stride)
        return weights

    def gradients_rescaled(self) -> None:
        """The caller has just scaled the gradients by the factor ``grad_norm_clipped`` says
        (clipping through the monitor): that change is accounted for."""
        if self._sgd is not None and self._sgd_checks:
            self._seen_grads = GradientMarks(self.weights)

    def after_optimizer(self, stats: StepStats, stepped: bool = True) -> None:
        """Hold the event: its weight-update norms travel with the next step's transfer.
        ``stepped`` False: the optimizer given to the probe did not step (plain SGD then
        moved nothing)."""
        if self._sgd is not None:
            self._pending = stats
            if not stepped:
                deltas = [0.0] * len(self.weights)
            elif self._sgd_checks and not self._seen_grads.unchanged(self.weights):
                deltas = self._sgd.update_norms(grad_norms_now(self.weights), 1.0)
            else:
                clipped, total = stats.grad_norm_clipped, stats.grad_norm_total
                scale = 1.0 if clipped is None or clipped == total else clipped / total
                deltas = self._sgd.update_norms(stats.grad_norm, scale)
            self._seen_grads = NO_MARKS  # holding the gradients would keep their memory
            self._complete_pending(deltas)
            self._note_drift(deltas, stats.weight_norm)
            return
        with torch.no_grad():
            self._updates.mark_step()
        self._pending = stats

    def _note_drift(self, deltas: list[float], weight_norm: tuple[float, ...]) -> None:
        drift = [a + d for a, d in zip(self._weight_drift, deltas, strict=True)]
        self._weight_drift = drift
        limit = WEIGHT_NORM_DRIFT
        # "not <=": a NaN counts as stale
        if any([not d <= limit * w for d, w in zip(drift, weight_norm, strict=True)]):
            self._weights_stale = True

    def take_completed(self) -> StepStats | None:
        """The previous step's event, once ``after_backward`` has completed it."""
        done, self._completed = self._completed, None
        return done

    def flush(self) -> StepStats | None:
        """Complete and return the last pending event (at the end of a run)."""
        if self._pending is None or not self._updates.changed:
            return self.take_completed()
        with torch.no_grad():
            joined = torch.cat(self._updates.change_norms())
            if self._sharded is not None:  # a collective: every rank flushes at its close
                joined = self._sharded.reduce(
                    joined, [False] * len(self.params), 0, 1, [], loss=False
                )
            values = joined.tolist()
        self._complete_pending(self._updates.arrange(values))
        return self.take_completed()

    def _complete_pending(self, deltas: list[float]) -> None:
        if self._pending is None:
            return
        ratios = tuple(
            [
                d / w if w > 0 else (0.0 if d == 0 else math.inf)
                for d, w in zip(deltas, self._pending.weight_norm, strict=True)
            ]
        )
        self._completed = self._pending.evolve(update_ratio=ratios)
        self._pending = None
        self._updates.changed = False

    # -- rarer work ----------------------------------------------------------------------------
    def _count_nonfinite(self, grad_norm: tuple[float | None, ...]) -> tuple[int, ...]:
        if self._sharded is not None:
            whole, self._nonfinite_here = self._sharded.nonfinite(grad_norm)
            return whole
        counts = []
        for weight, norm in zip(self.weights, grad_norm, strict=True):
            if norm is None or math.isfinite(norm):
                counts.append(0)
            else:
                counts.append(int((~torch.isfinite(weight.grad)).sum()))
        return tuple(counts)

    def _with_heavy(self, stats: StepStats) -> StepStats:
        with torch.no_grad():
            grads = [w.grad for w in self.weights]
            if self._sharded is not None:
                grads = self._sharded.weight_grads()
            mean_abs, max_abs, zero_frac = gradient_spread(grads, self._spread_plans)
            if self._sharded is not None:
                mean_abs, max_abs, zero_frac = self._sharded.spread(mean_abs, max_abs, zero_frac)
            dead, saturated = self._activations.fractions(self.n_blocks)
        self._activations.clear()
        return replace(
            stats,
            grad_mean_abs=mean_abs,
            grad_max_abs=max_abs,
            grad_zero_frac=zero_frac,
            dead_frac=dead,
            saturated_frac=saturated,
        )
