"""The first five lines of the checklist, read off one measured step (see step.py)."""

from __future__ import annotations

import math
from typing import Any

import torch

from gradtui.check.result import CheckItem
from gradtui.check.step import LayerGrad, StepProbe

# A gradient reaching the first layer's output under 1e-4 of the one at the last layer's output
# is about seven sigmoid links (0.25 each) or a dozen too-small inits: far past the one or two
# decades healthy networks show. Over 1e4 is the mirror image.
CHAIN_VANISHING = 1e-4
CHAIN_EXPLODING = 1e4
# A layer's gradient norm over 1e5 (the notes: "10^10 signals explosion") is exploding whatever
# the loss's scale; under 1e-8 everywhere, nothing will move at any sane learning rate.
GRAD_HUGE = 1e5
GRAD_TINY = 1e-8

UNREACHABLE = "could not tell: the loss itself failed its check"


def loss_item(probe: StepProbe) -> CheckItem:
    title = "the loss is a scalar that requires grad and reaches every trainable parameter"
    fail = _fail_factory("loss_reaches_params", title)
    if probe.error and probe.stage in ("forward", "loss"):
        what = "the model" if probe.stage == "forward" else "loss_fn"
        return fail(
            f"{what} raised on the batch: {probe.error}",
            "no loss, no graph: nothing else can be checked",
            "make model(inputs) and loss_fn(output, targets) run on the batch you passed",
        )
    loss = probe.loss
    if not isinstance(loss, torch.Tensor):
        return fail(
            f"loss_fn returned a {type(loss).__name__}, not a tensor",
            "a Python number (from .item() or float()) has no graph behind it",
            "return the loss tensor itself; call .item() only to print it",
        )
    if loss.numel() != 1:
        return fail(
            f"the loss has shape {list(loss.shape)}, not a scalar",
            "backward() starts from one number; a loss per example needs a reduction",
            "reduce it: loss.mean() (or reduction='mean' in the loss module)",
        )
    if not loss.requires_grad:
        return fail(
            "the loss does not require grad: no parameter is connected to it",
            "the loss was computed under torch.no_grad(), from .detach()/.data/.item(), "
            "or every parameter has requires_grad=False",
            "compute the loss from the model's output without detaching it, outside no_grad",
        )
    if probe.error:
        return fail(
            f"backward raised: {probe.error}",
            "autograd could not take the gradient; an in-place change of a tensor that "
            "backward needs (x += 1, relu_(), x[i] = ...) is the usual cause",
            "replace the in-place operation with its out-of-place form (x = x + 1)",
        )
    missed = [name for name, grad in probe.grads.items() if grad is None]
    if missed:
        return fail(
            f"the loss does not reach {len(missed)} of {len(probe.grads)} trainable "
            f"parameters: {_names(missed)}",
            "no path of differentiable operations joins them to the loss (a .detach(), "
            ".data, a branch the forward never uses), so their gradient stays None and "
            "the optimizer never moves them",
            "remove the detach/.data on their path, or set requires_grad=False (freeze "
            "them) if they are not meant to train",
            missed=missed,
        )
    return CheckItem(
        "loss_reaches_params",
        title,
        "pass",
        f"loss {float(loss.detach()):.4g}, a scalar; it reaches all {len(probe.grads)} trainable "
        "parameters",
    )


def parameters_item(probe: StepProbe, model: Any) -> CheckItem:
    title = "every tensor the model trains is an nn.Parameter"
    if probe.loss is None or not isinstance(probe.loss, torch.Tensor):
        return CheckItem("parameters", title, "unknown", UNREACHABLE)
    if probe.stray:
        return _fail_factory("parameters", title)(
            f"{len(probe.stray)} tensor(s) require grad but are not parameters: "
            f"{_names(probe.stray)}",
            "model.parameters() does not list a plain tensor, so an optimizer built from it "
            "never updates it, state_dict() does not save it and .to(device) does not move it",
            "wrap it in nn.Parameter (a list of them in nn.ParameterList), or "
            "register_buffer it if it is not meant to train",
            stray=probe.stray,
        )
    count = sum(1 for p in model.parameters() if p.requires_grad)
    return CheckItem("parameters", title, "pass", f"{count} trainable parameters, no plain tensors")


def optimizer_item(model: Any, optimizer: Any) -> CheckItem:
    title = "the optimizer holds every trainable parameter"
    if optimizer is None:
        return CheckItem(
            "optimizer",
            title,
            "unknown",
            "no optimizer was given",
            fix="pass optimizer=opt (or return it from make()) to check it",
        )
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    missing = [n for n, p in trainable if id(p) not in held]
    if missing:
        return _fail_factory("optimizer", title)(
            f"the optimizer is missing {len(missing)} of {len(trainable)} trainable "
            f"parameters: {_names(missing)}",
            "they get gradients every step, and nothing ever applies them: those layers "
            "keep their initial weights",
            "build the optimizer from model.parameters() (or add the missing ones to a "
            "param group); freeze them with requires_grad=False if that was the intent",
            missing=missing,
        )
    return CheckItem(
        "optimizer",
        title,
        "pass",
        f"{type(optimizer).__name__} holds all {len(trainable)} trainable parameters",
    )


def graph_item(probe: StepProbe) -> CheckItem:
    title = "the loss's graph has none of the known numerical traps"
    loss = probe.loss
    if not (isinstance(loss, torch.Tensor) and loss.grad_fn is not None):
        return CheckItem("graph", title, "unknown", UNREACHABLE)
    if not probe.traps:
        return CheckItem(
            "graph",
            title,
            "pass",
            "no log(softmax), softmax into cross_entropy/nll_loss, or sigmoid into "
            "binary_cross_entropy",
        )
    found = "; ".join(f"{t.pattern}" + (f" at {t.where}" if t.where else "") for t in probe.traps)
    first = probe.traps[0]
    return _fail_factory("graph", title)(
        f"found {found}",
        first.why,
        first.fix,
        traps=[{"pattern": t.pattern, "where": t.where} for t in probe.traps],
    )


def magnitudes_item(probe: StepProbe) -> CheckItem:
    title = "one step's gradients are within range layer by layer (no vanishing, exploding, NaN)"
    fail = _fail_factory("magnitudes", title)
    layers = [layer for layer in probe.layers if layer.grad_norm is not None]
    if not layers:
        return CheckItem("magnitudes", title, "unknown", UNREACHABLE)
    table = {
        layer.name: {"grad_norm": layer.grad_norm, "output_grad_norm": layer.output_grad_norm}
        for layer in layers
    }
    loss_value = float(probe.loss.detach())
    bad = [layer.name for layer in layers if not math.isfinite(layer.grad_norm or 0.0)]
    if bad or not math.isfinite(loss_value):
        return fail(
            f"non-finite values: loss {loss_value:.4g}"
            + (f"; nan/inf gradients in {_names(bad)}" if bad else ""),
            "one nan anywhere in the chain-rule product makes every gradient after it nan",
            "look for log(0), division by zero or sqrt of a negative in the forward and the "
            "loss; check the inputs for nan",
            layers=table,
        )
    zero = [layer.name for layer in layers if layer.zero]
    if zero:
        return fail(
            f"the gradient of {_names(zero)} is exactly zero",
            "a link after them passes no gradient: all units dead (ReLU never firing), a "
            "multiply by 0, or a zero-initialised layer (expected on the first step only)",
            "check the activations after these layers, and the init of the layers after them",
            layers=table,
        )
    chain = [layer for layer in layers if layer.output_grad_norm]
    ratio = chain[0].output_grad_norm / chain[-1].output_grad_norm if len(chain) > 1 else 1.0
    largest = max(layers, key=lambda layer: layer.grad_norm or 0.0)
    details = {"layers": table, "first_to_last": ratio}
    if ratio < CHAIN_VANISHING:
        return fail(
            f"vanishing: the gradient at the output of {_layer(chain[0])} is {ratio:.1e} of "
            f"the one at {_layer(chain[-1])}",
            "each link of the chain multiplies the gradient by a factor; many factors "
            "under 1 (saturating activations, weights initialised too small) shrink it "
            "exponentially with depth",
            "use ReLU-family activations with Kaiming init, residual connections or "
            "normalisation layers",
            **details,
        )
    if ratio > CHAIN_EXPLODING or (largest.grad_norm or 0.0) > GRAD_HUGE:
        return fail(
            f"exploding: the gradient at the output of {_layer(chain[0])} is {ratio:.1e} of "
            f"the one at {_layer(chain[-1])}; the largest layer gradient is "
            f"{largest.grad_norm:.1e} ({_layer(largest)})",
            "links with a factor over 1 (weights initialised too large) grow the gradient "
            "exponentially with depth",
            "initialise with Kaiming (ReLU) or Xavier (tanh) scale, normalise, clip the "
            "gradient norm",
            **details,
        )
    if (largest.grad_norm or 0.0) < GRAD_TINY:
        return fail(
            f"every layer's gradient is below {GRAD_TINY:.0e} (largest {largest.grad_norm:.1e})",
            "the whole network is saturated or scaled down: no learning rate will move it",
            "check the init scale and the activations",
            **details,
        )
    return CheckItem(
        "magnitudes",
        title,
        "pass",
        f"{len(layers)} layers; largest gradient {largest.grad_norm:.1e} "
        f"({_layer(largest)}); the gradient at the first layer's output is {ratio:.1e} of "
        "the last's",
        details=details,
    )


def _layer(layer: LayerGrad) -> str:
    return f"{layer.name} ({layer.kind})"


def _fail_factory(check_id: str, title: str) -> Any:
    def fail(summary: str, why: str, fix: str, **details: Any) -> CheckItem:
        return CheckItem(check_id, title, "fail", summary, why, fix, details)

    return fail


def _names(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
