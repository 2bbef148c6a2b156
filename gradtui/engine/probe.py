"""Per-layer statistics of one training step, measured in vectorised passes.

Every step costs a handful of ``torch._foreach_*`` calls and a single transfer to Python:
the gradient norms of this step and the weight-update norms of the previous step travel
together, so the event for step t is completed (and emitted) at step t+1 or at ``flush``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from gradtui.events import StepStats

# A sigmoid or tanh unit counts as saturated when its local derivative is below a tenth of
# the derivative's peak: sigmoid beyond |z| > 3.64, tanh beyond |z| > 1.82.
SATURATION_Z = {"Sigmoid": 3.64, "Tanh": 1.82}
RELU_FAMILY = ("ReLU", "LeakyReLU", "GELU", "ReLU6", "SiLU", "ELU")


def _root_sum_square(values) -> float:
    return math.sqrt(math.fsum(v * v for v in values))


def first_tensor(output: object) -> torch.Tensor | None:
    """A module's output as one tensor: itself, or the first tensor of a tuple or list."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, tuple | list):
        return next((o for o in output if isinstance(o, torch.Tensor)), None)
    return None


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
    that turns an error of ours into a log line instead of an exception in their forward)."""

    def __init__(
        self,
        model: nn.Module,
        watched: Watched,
        heavy_every: int,
        guard: Callable[[Callable[..., Any]], Callable[..., Any]] = _unguarded,
        block_hooks: bool = True,
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
        self.n_blocks = len(watched.blocks)
        self._block_grads: list[torch.Tensor | None] = [None] * self.n_blocks
        # block -> (which fraction, count as a tensor, out of how many)
        self._activation_stats: dict[int, tuple[str, torch.Tensor, int]] = {}
        self._heavy_armed = False
        self._snapshot = [torch.empty_like(w) for w in self.weights]
        self._pending: StepStats | None = None
        self._completed: StepStats | None = None
        self._carried: list[torch.Tensor] = []
        # Without block hooks the model must call ``tap`` on each block output itself.
        self._handles = [
            module.register_forward_hook(guard(self._block_hook(i)))
            for i, (_, module) in enumerate(watched.blocks)
            if block_hooks
        ]
        self._activation_handles: list = []  # present only during a heavy step's forward

    # -- hooks -----------------------------------------------------------------------------
    def _block_hook(self, index: int):
        def on_forward(_module: nn.Module, _inputs: object, output: object) -> None:
            tensor = first_tensor(output)
            if tensor is not None:
                self.tap(index, tensor)

        return on_forward

    def tap(self, index: int, output: torch.Tensor) -> None:
        """Watch the gradient that will arrive at block ``index``'s output. The forward hooks
        call this; a model that knows its blocks can call it itself and skip the hooks."""
        if not output.requires_grad:
            return
        node = output.grad_fn
        if node is None:
            output.register_hook(lambda grad: self._store_block_grad(index, grad))
            return
        # A pre-hook on the node that made the output sees the same gradient as a tensor hook
        # would, and costs less to register.
        slot = output.output_nr
        node.register_prehook(lambda grads: self._store_block_grad(index, grads[slot]))

    def _store_block_grad(self, index: int, grad: torch.Tensor) -> None:
        self._block_grads[index] = grad

    def _activation_hook(self, block: int, kind: str):
        def on_forward(_module: nn.Module, inputs: tuple[torch.Tensor, ...], _out: object) -> None:
            if not inputs:
                return
            with torch.no_grad():
                z = inputs[0].flatten(1) if inputs[0].dim() > 1 else inputs[0][None]
                if kind in SATURATION_Z:
                    count = (z.abs() > SATURATION_Z[kind]).sum()
                    self._activation_stats[block] = ("saturated", count, z.numel())
                elif kind in RELU_FAMILY:
                    # a unit is dead when no sample of the batch lifts it above zero
                    count = (z.amax(dim=0) <= 0).sum()
                    self._activation_stats[block] = ("dead", count, z.shape[1])

        return on_forward

    def remove(self) -> None:
        for handle in [*self._handles, *self._activation_handles]:
            handle.remove()
        self._handles.clear()
        self._activation_handles.clear()

    def _arm_activation_hooks(self, armed: bool) -> None:
        """Activation hooks cost a call per module per forward: attach them only when used."""
        if armed and not self._activation_handles:
            self._activation_handles = [
                module.register_forward_hook(
                    self._guard(self._activation_hook(block, type(module).__name__))
                )
                for block, module in self.watched.activations
            ]
        elif not armed and self._activation_handles:
            for handle in self._activation_handles:
                handle.remove()
            self._activation_handles = []

    # -- one step ----------------------------------------------------------------------------
    def before_forward(self, step: int) -> None:
        """Call before the forward pass; notes gradients a missing zero_grad() left behind."""
        self.arm(step)
        # Measured now: backward accumulates into these very tensors, in place.
        self.set_carried(self.carried_norms())

    def arm(self, step: int) -> None:
        """Start a step: heavy statistics on or off, last step's block gradients forgotten."""
        self._heavy_armed = step % self.heavy_every == 0
        self._arm_activation_hooks(self._heavy_armed)
        self._activation_stats.clear()
        self._block_grads = [None] * self.n_blocks

    @property
    def heavy_armed(self) -> bool:
        return self._heavy_armed

    def carried_norms(self) -> list[torch.Tensor]:
        """Norms of the gradients now in .grad: one vectorised call, nothing transferred."""
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

        One ``_foreach_norm`` over every tensor measured, one stack, one transfer.
        """
        grads = [p.grad for p in self.params]
        present = [g for g in grads if g is not None]
        block_grads = self._block_grads
        block_present = [g for g in block_grads if g is not None]
        deltas = self._snapshot if self._pending is not None else []
        with torch.no_grad():
            norms = torch._foreach_norm([*present, *self.weights, *block_present, *deltas])
            head = loss.detach().float().reshape(())
            values = torch.stack([head, *norms, *self._carried]).tolist()
        loss_value = values[0]
        cursor = iter(values[1:])
        param_norm = [None if g is None else next(cursor) for g in grads]
        weight_norm = tuple(next(cursor) for _ in self.weights)
        block_norm = tuple(None if g is None else next(cursor) for g in block_grads)
        self._complete_pending([next(cursor) for _ in deltas])
        carried = [next(cursor) for _ in self._carried]
        grad_norm = tuple(param_norm[i] for i in self.weight_param_index)
        stats = StepStats(
            step=step,
            loss=loss_value,
            grad_norm_total=_root_sum_square(n for n in param_norm if n is not None),
            grad_norm_clipped=None,
            grad_norm=grad_norm,
            nonfinite=(0,) * len(self.weights),
            weight_norm=weight_norm,
            update_ratio=(0.0,) * len(self.weights),
            block_grad_norm=block_norm,
            carried_grad_norm=_root_sum_square(carried),
        )
        went_bad = not (math.isfinite(loss_value) and math.isfinite(stats.grad_norm_total))
        if went_bad:
            stats = replace(stats, nonfinite=self._count_nonfinite(grad_norm))
        if self._heavy_armed or went_bad:
            stats = self._with_heavy(stats)
        return stats

    def before_optimizer(self) -> None:
        with torch.no_grad():
            torch._foreach_copy_(self._snapshot, self.weights)

    def after_optimizer(self, stats: StepStats) -> None:
        """Hold the event: its weight-update norms travel with the next step's transfer."""
        with torch.no_grad():
            torch._foreach_sub_(self._snapshot, self.weights)
        self._pending = stats

    def take_completed(self) -> StepStats | None:
        """The previous step's event, once ``after_backward`` has completed it."""
        done, self._completed = self._completed, None
        return done

    def flush(self) -> StepStats | None:
        """Complete and return the last pending event (at the end of a run)."""
        if self._pending is None:
            return None
        self._complete_pending(torch.stack(torch._foreach_norm(self._snapshot)).tolist())
        return self.take_completed()

    def _complete_pending(self, deltas: list[float]) -> None:
        if self._pending is None:
            return
        ratios = tuple(
            d / w if w > 0 else (0.0 if d == 0 else math.inf)
            for d, w in zip(deltas, self._pending.weight_norm, strict=True)
        )
        self._completed = replace(self._pending, update_ratio=ratios)
        self._pending = None

    # -- rarer work ----------------------------------------------------------------------------
    def _count_nonfinite(self, grad_norm: tuple[float | None, ...]) -> tuple[int, ...]:
        counts = []
        for weight, norm in zip(self.weights, grad_norm, strict=True):
            if norm is None or math.isfinite(norm):
                counts.append(0)
            else:
                counts.append(int((~torch.isfinite(weight.grad)).sum()))
        return tuple(counts)

    def _with_heavy(self, stats: StepStats) -> StepStats:
        grads = [w.grad for w in self.weights]
        present = [g for g in grads if g is not None]
        if present:
            l1 = torch._foreach_norm(present, 1)
            linf = torch._foreach_norm(present, math.inf)
            zeros = [(g == 0).sum() for g in present]
            flat = torch.stack([*l1, *linf, *[z.float() for z in zeros]]).tolist()
        else:
            flat = []
        n = len(present)
        mean_abs, max_abs, zero_frac = [], [], []
        k = 0
        for g in grads:
            if g is None:
                mean_abs.append(None)
                max_abs.append(None)
                zero_frac.append(None)
                continue
            mean_abs.append(flat[k] / g.numel())
            max_abs.append(flat[n + k])
            zero_frac.append(flat[2 * n + k] / g.numel())
            k += 1
        dead, saturated = self._activation_fractions()
        return replace(
            stats,
            grad_mean_abs=tuple(mean_abs),
            grad_max_abs=tuple(max_abs),
            grad_zero_frac=tuple(zero_frac),
            dead_frac=dead,
            saturated_frac=saturated,
        )

    def _activation_fractions(self) -> tuple[tuple | None, tuple | None]:
        if not self._activation_stats:
            return None, None
        order = sorted(self._activation_stats)
        counts = torch.stack([self._activation_stats[b][1] for b in order]).tolist()
        fractions: dict[str, list[float | None]] = {
            "dead": [None] * self.n_blocks,
            "saturated": [None] * self.n_blocks,
        }
        for block, count in zip(order, counts, strict=True):
            which, _, total = self._activation_stats[block]
            fractions[which][block] = count / total
        return tuple(fractions["dead"]), tuple(fractions["saturated"])
