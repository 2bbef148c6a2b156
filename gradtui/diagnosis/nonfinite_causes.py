"""Which cause a NaN's origin (events.NonfiniteOrigin) and the run before it support.

Each stage has its candidate causes, tried in order; each is taken only on evidence that
confirms it, and the evidence is quoted. Where none is confirmed the finding says so and lists
what to check. Only a cause with large gradients before the NaN gets the advice of a smaller
learning rate and clipping (docs/causes.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from gradtui.diagnosis import texts_nonfinite as X
from gradtui.diagnosis import thresholds as T
from gradtui.diagnosis.words import name_list, num
from gradtui.events import Evidence, NonfiniteOrigin

STAGES = ("input batch", "forward activation", "loss", "backward gradient", "optimizer update")
SOFTMAX_OPS = ("softmax", "attention")
ZERO_OPS = ("div", "log", "sqrt", "rsqrt", "pow", "reciprocal", "norm", "atan2")


@dataclass(frozen=True)
class Before:
    """What the run showed before its first non-finite step."""

    grew: bool = False  # the exploding rule fired
    last_step: int | None = None  # the last finite step
    last_total: float | None = None  # its total gradient norm
    largest: str = ""  # its layer with the largest gradient norm
    largest_norm: float | None = None
    baseline: float | None = None  # median total norm of the first finite steps
    lr: float | None = None
    eps: float | None = None
    weight_decay: float | None = None
    param_dtype: str = ""
    log_of_softmax: bool = False  # the graph lint saw log(softmax(...)) at step 0

    @property
    def large(self) -> bool:
        """The gradients before were large: the lr-and-clipping advice applies."""
        if self.grew:
            return True
        total = self.last_total
        if total is None:
            return False
        grown = self.baseline is not None and total >= T.NONFINITE_GROWN * self.baseline
        return grown or total >= T.NONFINITE_LARGE_GRAD

    def grads(self) -> Evidence:
        if self.last_total is None:
            return Evidence("gradients before", "none measured")
        large = self.large
        value = f"total norm {num(self.last_total)} at step {self.last_step}"
        if self.largest:
            value += f", largest {self.largest} {num(self.largest_norm)}"
        return Evidence(
            "gradients before",
            value,
            rules_in=("large gradients",) if large else (),
            rules_out=() if large else ("large gradients",),
        )


@dataclass(frozen=True)
class Cause:
    said: str  # sentences for the message, after its first one
    why: str
    fix: str
    evidence: tuple[Evidence, ...]


def _stage(origin: NonfiniteOrigin, name: str) -> Evidence:
    others = tuple(s for s in STAGES if s != name)
    where = origin.where if origin.where not in ("", "loss", "backward") else ""
    value = f"{name}: {where}" if where else name
    return Evidence("first non-finite value", value, (name,), others)


def cause_of(origin: NonfiniteOrigin, before: Before, bad: tuple[str, ...] = ()) -> Cause:
    """``bad``: the layers whose gradients are not finite."""
    stage = origin.stage
    if stage == "input":
        return _input(origin)
    if stage == "weights":
        return _weights(origin)
    if stage == "update":
        return _update(origin, before)
    if stage == "forward":
        return _forward(origin, before)
    if stage == "loss":
        return _loss(origin, before)
    if stage == "unchecked":
        return _unchecked(origin, before)
    return _backward(origin, before, bad)


def _input(o: NonfiniteOrigin) -> Cause:
    where = f" (columns {', '.join(map(str, o.columns))})" if o.columns else ""
    what = o.values.replace("+", " and ").replace("nan", "NaN") or "non-finite"
    said = (
        f"The {o.where} already held {o.entries} {what} of its {o.size} entries{where}: "
        "the first non-finite value came with the data, before any layer."
    )
    held = Evidence(o.where, f"{o.entries} of {o.size} non-finite", ("input batch",))
    targets = o.where == "targets"
    why, fix = (X.TARGETS_WHY, X.TARGETS_FIX) if targets else (X.INPUT_WHY, X.INPUT_FIX)
    return Cause(said, why, fix, (_stage(o, "input batch"), held))


def _weights(o: NonfiniteOrigin) -> Cause:
    owners = list(dict.fromkeys(name.rsplit(".", 1)[0] for name in o.weights))
    said = (
        f"The weights of {name_list(owners)} were already non-finite before the first "
        "step: they came in that way."
    )
    ev = Evidence("weights before step 0", "non-finite", ("init or checkpoint",))
    return Cause(said, X.WEIGHTS_WHY, X.WEIGHTS_FIX, (_stage(o, "weights"), ev))


def _update(o: NonfiniteOrigin, b: Before) -> Cause:
    last = "the step before" if b.last_step is None else f"step {b.last_step}"
    owners = list(dict.fromkeys(name.rsplit(".", 1)[0] for name in o.weights))
    said = (
        f"The forward pass used weights that were already non-finite ({name_list(owners)}, "
        f"{o.dtype}): the optimizer's update at {last} wrote them"
    )
    ev = [_stage(o, "optimizer update"), b.grads(), Evidence("weights' dtype", o.dtype)]
    if b.lr is not None:
        ev.append(Evidence("lr", b.lr))
    size = "had grown large" if b.large else "were finite and small"
    said += f", from gradients that {size} ({b.grads().value})."
    decay = _decay(b, ev)
    if decay is not None:
        return Cause(said + decay, X.UPDATE_DECAY_WHY, X.UPDATE_DECAY_FIX, tuple(ev))
    if b.large:
        return Cause(said, X.UPDATE_GROWN_WHY, X.UPDATE_GROWN_FIX, tuple(ev))
    if o.dtype == "float16" and b.eps is not None and b.eps < T.FLOAT16_TINY:
        ev.append(Evidence("eps", b.eps, ("eps too small for float16",)))
        said += f" The optimizer's eps is {num(b.eps)}, which float16 rounds to 0."
        return Cause(said, X.UPDATE_EPS_WHY, X.UPDATE_EPS_FIX, tuple(ev))
    if b.lr is not None and b.lr > T.NONFINITE_HUGE_LR:
        ev[-1] = Evidence("lr", b.lr, ("learning rate huge",))
        said += f" The learning rate is {num(b.lr)}."
        return Cause(said, X.UPDATE_LR_WHY, X.UPDATE_LR_FIX, tuple(ev))
    said += " The evidence does not decide which setting did it."
    return Cause(said, X.UPDATE_UNSURE_WHY, X.UPDATE_UNSURE_FIX, tuple(ev))


_HELD = {"finite": "finite", "zero": "a 0", "-inf": "-inf", "inf": "inf", "nan": "NaN"}


def held_words(op_inputs: str) -> str:
    """'finite inputs', 'inputs holding a 0 and -inf'."""
    words = [_HELD.get(w, w) for w in op_inputs.split("+") if w]
    if not words or words == ["finite"]:
        return "finite inputs"
    return "inputs holding " + " and ".join(words)


def _decay(b: Before, ev: list[Evidence]) -> str | None:
    """A sentence when lr * weight_decay grows the weights every step (and its evidence)."""
    product = (b.lr or 0.0) * (b.weight_decay or 0.0)
    if product <= T.DECAY_GROWS:
        return None
    ev.append(Evidence("lr * weight_decay", product, ("weight decay",)))
    return (
        f" lr * weight_decay is {num(product)}, above 2: each step multiplies the weights "
        f"by {num(1 - product)}."
    )


def _unchecked(o: NonfiniteOrigin, b: Before) -> Cause:
    said = "The forward pass was not checked on this step, so where it began is not known."
    ev = (Evidence("forward pass", "not checked"), b.grads())
    if b.large:
        return Cause(said, X.FORWARD_GROWN_WHY, X.FORWARD_GROWN_FIX, ev)
    return Cause(said, X.UNCHECKED_WHY, X.UNCHECKED_FIX, ev)


def _op_words(o: NonfiniteOrigin) -> str:
    if not o.op:
        return ""
    dtype = f" in {o.dtype}" if o.dtype else ""
    return f" The first operation to make one was {o.op}{dtype}, on {held_words(o.op_inputs)}."


def _forward(o: NonfiniteOrigin, b: Before) -> Cause:
    said = f"The first module whose output went non-finite in the forward pass is {o.where}"
    said += f" ({o.module_kind})." if o.module_kind else "."
    said += _op_words(o)
    ev = [_stage(o, "forward activation"), b.grads()]
    if o.op:
        ev.append(Evidence("first operation", f"{o.op} on {held_words(o.op_inputs)}"))
    inputs = set(o.op_inputs.split("+"))
    op = o.op.lower()
    if "-inf" in inputs and "nan" in o.values and any(k in op for k in SOFTMAX_OPS):
        ev.append(Evidence("softmax input", "a row all -inf", ("all-masked row",)))
        said += " A row of its input was masked to -inf everywhere."
        return Cause(said, X.FORWARD_MASK_WHY, X.FORWARD_MASK_FIX, tuple(ev))
    if o.dtype == "float16" and "inf" in o.values and not inputs & {"inf", "-inf", "nan"}:
        ev.append(Evidence("dtype", "float16", ("float16 overflow past 65504",)))
        said += " It computed in float16, whose largest value is 65504."
        return Cause(said, X.FORWARD_HALF_WHY, X.FORWARD_HALF_FIX, tuple(ev))
    decay = _decay(b, ev)
    if decay is not None:
        return Cause(said + decay, X.UPDATE_DECAY_WHY, X.UPDATE_DECAY_FIX, tuple(ev))
    if b.large:
        return Cause(said, X.FORWARD_GROWN_WHY, X.FORWARD_GROWN_FIX, tuple(ev))
    if op.startswith("exp") and "inf" in o.values and not inputs & {"inf", "-inf", "nan"}:
        ev.append(Evidence("operation", "exp of finite inputs overflowed", ("exp overflow",)))
        return Cause(said, X.FORWARD_EXP_WHY, X.FORWARD_EXP_FIX, tuple(ev))
    if "zero" in inputs and any(op.startswith(k) for k in ZERO_OPS):
        ev.append(Evidence("operation's input", "held a 0", ("division or log of 0",)))
        return Cause(said, X.FORWARD_ZERO_WHY, X.FORWARD_ZERO_FIX, tuple(ev))
    said += " The evidence does not decide the cause."
    return Cause(said, X.FORWARD_UNSURE_WHY, X.FORWARD_UNSURE_FIX, tuple(ev))


def _loss(o: NonfiniteOrigin, b: Before) -> Cause:
    said = (
        "Every module's output was finite: the loss computation itself produced the first "
        "non-finite value."
    )
    return _loss_cause(o, b, said + _op_words(o))


def _loss_cause(o: NonfiniteOrigin, b: Before, said: str) -> Cause:
    """The loss (its value or its own backward) made it: a log of 0 when the op, the lint
    or the loss's graph says so; growth or weight decay; else what to check."""
    ev = [_stage(o, "loss"), b.grads()]
    if o.graph_ops:
        ev.append(Evidence("loss's graph", "+".join(o.graph_ops)))
    logged = o.op.startswith("log") and "zero" in o.op_inputs
    if logged or b.log_of_softmax or (not o.op and "log" in o.graph_ops):
        seen = (
            "log of a 0"
            if logged
            else "log(softmax(...)) in the loss's graph"
            if b.log_of_softmax
            else "a log in the loss's graph"
        )
        ev.append(Evidence("log in the loss", seen, ("log of 0",)))
        if not logged and not b.log_of_softmax:
            said += " The loss's graph holds a log, not a fused log_softmax or logsigmoid."
        return Cause(said, X.LOSS_LOG_WHY, X.LOSS_LOG_FIX, tuple(ev))
    decay = _decay(b, ev)
    if decay is not None:
        return Cause(said + decay, X.UPDATE_DECAY_WHY, X.UPDATE_DECAY_FIX, tuple(ev))
    if b.large:
        said += " Its inputs were large enough to overflow it: the end of the growth before."
        return Cause(said, X.FORWARD_GROWN_WHY, X.FORWARD_GROWN_FIX, tuple(ev))
    if o.graph_ops:
        said += f" The loss's graph holds {', '.join(o.graph_ops)}, any of which can be it."
    said += " The evidence does not decide the cause."
    return Cause(said, X.LOSS_UNSURE_WHY, X.LOSS_UNSURE_FIX, tuple(ev))


def _backward(o: NonfiniteOrigin, b: Before, bad: tuple[str, ...] = ()) -> Cause:
    if o.where == "loss":
        return _loss_backward(o, b)
    where = f" at {o.where}" if o.where and o.where != "backward" else ""
    inside = f", in {name_list(bad)}" if bad else ""
    said = (
        f"The forward pass and the loss were finite: the backward pass produced it{where}{inside}."
    )
    ev = [_stage(o, "backward gradient"), b.grads()]
    if b.large:
        return Cause(said, X.BACKWARD_GROWN_WHY, X.BACKWARD_GROWN_FIX, tuple(ev))
    if o.dtype == "float16" or b.param_dtype == "float16":
        ev.append(Evidence("gradients' dtype", "float16", ("float16 overflow past 65504",)))
        return Cause(said, X.BACKWARD_HALF_WHY, X.BACKWARD_HALF_FIX, tuple(ev))
    return Cause(said, X.BACKWARD_ZERO_WHY, X.BACKWARD_ZERO_FIX, tuple(ev))


def _loss_backward(o: NonfiniteOrigin, b: Before) -> Cause:
    """dL/d(output) itself was not finite: the loss's own backward made it."""
    said = (
        "Every module's output and the loss were finite: the loss's own backward "
        "(dL/d output) produced the first non-finite value."
    )
    return _loss_cause(o, b, said + _op_words(o))
