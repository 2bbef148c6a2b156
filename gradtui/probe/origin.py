"""Where a step's first NaN or inf came from: worked out only on the step that went bad.

Checked in the order the values flow, and the first that holds one wins: the input batch (and
the targets, where the driver sees them), the weights before the step (non-finite weights on a
later step were written by the optimizer's last update), a replay of the forward pass with
each module's output checked and each torch operation watched (``ops``), the loss, and
otherwise the backward pass. Nothing here runs on a finite step.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from gradtui.events import NonfiniteOrigin
from gradtui.probe.ops import BadOp, OpWatch, dtype_name, held, values_in
from gradtui.probe.probe import first_tensor
from gradtui.probe.traps import short

log = logging.getLogger("gradtui.watch")
# How many of a two-dimensional input's non-finite columns are named.
MAX_COLUMNS = 8
NamedTensors = Iterable[tuple[str, object]]


@dataclass
class ForwardTrace:
    """What a replayed forward pass showed: the first module whose output was not finite
    (innermost first) with its class, dtype and values, and the first operation that made a
    NaN or inf out of inputs that held none (see ops.OpWatch)."""

    module: str | None = None
    kind: str = ""
    dtype: str = ""
    values: str = ""
    loss_finite: bool = True
    ops: OpWatch = field(default_factory=OpWatch)


def trace_forward(
    model: nn.Module, forward_loss: Callable[[], torch.Tensor], root: str = "", ops: bool = True
) -> ForwardTrace:
    """Replay the forward pass with a check on every module's output; BatchNorm's running
    statistics are put back after, so the replay leaves no trace. ``root``: the name the
    model itself goes by when only its own output is non-finite."""
    trace = ForwardTrace()

    def check(name: str):
        def hook(module: nn.Module, _inputs: object, output: object) -> None:
            out = first_tensor(output)
            if trace.module is None and out is not None and not bool(out.isfinite().all()):
                trace.module, trace.kind = name, type(module).__name__
                trace.dtype, trace.values = dtype_name(out), values_in(out)

        return hook

    buffers = {name: b.clone() for name, b in model.named_buffers()}
    handles = [
        module.register_forward_hook(check(name or root))
        for name, module in model.named_modules()
        if (name or root) and not isinstance(module, nn.ModuleList | nn.ModuleDict)
    ]
    try:
        with torch.no_grad(), trace.ops.watching(ops):
            loss = forward_loss()
    finally:
        for handle in handles:
            handle.remove()
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
    trace.loss_finite = bool(loss.isfinite().all())
    return trace


def input_origin(named: NamedTensors) -> NonfiniteOrigin | None:
    """The first floating-point tensor among ``named`` that holds a NaN or inf."""
    for name, value in named:
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            continue
        bad = ~value.detach().isfinite()
        entries = int(bad.sum())
        if entries and not _additive_mask(value.detach(), bad):
            columns = _columns(bad) if bad.dim() == 2 else ()
            return NonfiniteOrigin(
                "input",
                where=name,
                dtype=dtype_name(value),
                values=values_in(value),
                entries=entries,
                size=value.numel(),
                columns=columns,
            )
    return None


def _additive_mask(value: torch.Tensor, bad: torch.Tensor) -> bool:
    """0 where allowed, -inf where masked (``generate_square_subsequent_mask``'s kind): an
    argument that holds -inf on purpose, not data."""
    return bool(value[bad].eq(-math.inf).all()) and bool(value[~bad].eq(0).all())


def _columns(bad: torch.Tensor) -> tuple[int, ...]:
    return tuple(int(c) for c in bad.any(0).nonzero().flatten()[:MAX_COLUMNS].tolist())


def weights_origin(
    named_params: Iterable[tuple[str, torch.Tensor]], step: int
) -> NonfiniteOrigin | None:
    """Parameters already non-finite before this step's forward: the last update wrote them
    ("update"), or they were so from the start ("weights", on step 0). One check per tensor,
    exact in any dtype (a float16 norm could overflow where every entry is finite), and one
    transfer."""
    named = [(name, p) for name, p in named_params if p.is_floating_point() and p.numel()]
    if not named:
        return None
    with torch.no_grad():
        finite = torch.stack([p.detach().isfinite().all() for _, p in named]).tolist()
    bad = tuple(name for (name, _), ok in zip(named, finite, strict=True) if not ok)
    if not bad:
        return None
    first = dict(named)[bad[0]]
    return NonfiniteOrigin(
        "weights" if step == 0 else "update",
        where=bad[0],
        dtype=dtype_name(first),
        values=values_in(first),
        weights=bad,
    )


def forward_origin(trace: ForwardTrace) -> NonfiniteOrigin | None:
    """The "forward" origin at the first non-finite module, "loss" when only the loss was."""
    op = trace.ops.first
    facts = {"op": op.name, "op_inputs": op.inputs} if op is not None else {}
    if trace.module is not None:
        return NonfiniteOrigin(
            "forward",
            where=trace.module,
            module_kind=trace.kind,
            dtype=op.dtype if op is not None else trace.dtype,
            values=op.values if op is not None else trace.values,
            **facts,
        )
    if not trace.loss_finite:
        return NonfiniteOrigin(
            "loss",
            dtype=op.dtype if op is not None else "",
            values=op.values if op is not None else "",
            **facts,
        )
    return None


def backward_origin(
    where: str, grads: Sequence[torch.Tensor | None] = (), op: BadOp | None = None
) -> NonfiniteOrigin:
    """The forward pass and the loss were finite: the backward pass broke, at ``where``
    (a block, "loss" for dL/d output, or "backward" when no link can be named). ``op``: an
    operation of the forward replay that made a non-finite value the loss did not keep (a
    log(0) that a gather left out), whose slope is then what broke."""
    bad = next((g for g in grads if g is not None and not bool(g.isfinite().all())), None)
    dtype = dtype_name(bad) if bad is not None else ""
    values = values_in(bad) if bad is not None else ""
    facts = {"op": op.name, "op_inputs": op.inputs} if op is not None else {}
    return NonfiniteOrigin("backward", where=where, dtype=dtype, values=values, **facts)


def named_inputs(args: Sequence[object], kwargs: dict[str, object]) -> list[tuple[str, object]]:
    """A forward call's tensors, one level into lists, tuples and dicts, with names a user
    recognises: "input" for a lone argument, "argument 1", "input_ids", "batch['x']"."""
    named: list[tuple[str, object]] = []
    top = [("input" if len(args) == 1 else f"argument {i}", a) for i, a in enumerate(args)]
    for name, value in [*top, *kwargs.items()]:
        if isinstance(value, dict):
            named += [(f"{name}[{k!r}]", v) for k, v in value.items()]
        elif isinstance(value, list | tuple):
            named += [(f"{name}[{i}]", v) for i, v in enumerate(value)]
        else:
            named.append((name, value))
    return named


__all__ = [
    "ForwardTrace",
    "backward_origin",
    "forward_origin",
    "held",
    "input_origin",
    "named_inputs",
    "origin_of",
    "origin_or_none",
    "trace_forward",
    "weights_origin",
]


def origin_or_none(*args: object, **kwargs: object) -> NonfiniteOrigin | None:
    """``origin_of``, or None (with the traceback in the log) when looking fails on a model
    we did not foresee: a missing origin must not cost the run its watching."""
    try:
        return origin_of(*args, **kwargs)  # type: ignore[arg-type]
    except Exception:
        log.exception("gradtui: could not work out where the first NaN/inf came from")
        return None


def origin_of(
    step: int,
    inputs: NamedTensors,
    params: Iterable[tuple[str, torch.Tensor]],
    forward: NonfiniteOrigin | None,
    backward_where: str,
    op: BadOp | None = None,
    loss: torch.Tensor | None = None,
) -> NonfiniteOrigin:
    """The first of: the inputs, the weights, the forward pass (``forward``, from a trace or
    from finiteness checks), the backward pass. When the loss made it, the fragile
    operations of ``loss``'s graph come with it."""
    named = params_list(params)
    origin = (
        input_origin(inputs)
        or weights_origin(named, step)
        or forward
        or backward_origin(backward_where, [p.grad for _, p in named], op)
    )
    if loss is not None and (origin.stage == "loss" or origin.where == "loss"):
        origin = replace(origin, graph_ops=fragile_ops(loss))
    return origin


# Operations whose value or slope is infinite at some finite input, by backward node name.
FRAGILE = {
    "Log": "log",
    "Log2": "log",
    "Log10": "log",
    "Div": "div",
    "Reciprocal": "div",
    "Sqrt": "sqrt",
    "Rsqrt": "sqrt",
    "Pow": "pow",
    "Exp": "exp",
}
MAX_NODES = 200_000


def fragile_ops(loss: torch.Tensor) -> tuple[str, ...]:
    """The fragile operations (``FRAGILE``) in ``loss``'s autograd graph, by name, in the
    order the walk from the loss meets them. Node names only: the graph outlives backward,
    its saved tensors do not."""
    root = getattr(loss, "grad_fn", None)
    found: dict[str, None] = {}
    seen: set[int] = set()
    stack = [root] if root is not None else []
    while stack and len(seen) < MAX_NODES:
        node = stack.pop()
        name = FRAGILE.get(short(node))
        if name is not None:
            found[name] = None
        for child, _ in getattr(node, "next_functions", ()):
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return tuple(found)


def params_list(params: Iterable[tuple[str, torch.Tensor]]) -> list[tuple[str, torch.Tensor]]:
    return params if isinstance(params, list) else list(params)
