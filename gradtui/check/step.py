"""One forward and backward pass on a copy of the user's model, measured for the checklist.

Gradients are taken with ``torch.autograd.grad``, never ``.backward()``, so no ``.grad`` is
written anywhere: not on the copy, and not on a tensor from outside the model that the forward
happens to use.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from gradtui.check import graph


@dataclass
class LayerGrad:
    """A module that owns parameters, in the order its forward finished."""

    name: str
    kind: str
    grad_norm: float | None  # L2 norm over its parameters' gradients; None: none reached
    output_grad_norm: float | None  # L2 norm of dL/d(its output); None: not measured
    zero: bool  # a weight (2+ dims) was reached and its gradient is exactly zero everywhere


@dataclass
class StepProbe:
    """What one step showed; ``error`` is set when the forward, the loss or backward raised."""

    loss: Any = None  # the loss tensor (or whatever loss_fn returned)
    error: str = ""
    stage: str = ""  # "forward", "loss" or "backward" when error is set
    trainable: dict[str, nn.Parameter] = field(default_factory=dict)
    grads: dict[str, Any] = field(default_factory=dict)  # name -> gradient (None: unreached)
    layers: list[LayerGrad] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)  # tensors trained that are not Parameters
    traps: list[graph.Trap] = field(default_factory=list)


def call_model(model: nn.Module, inputs: Any) -> Any:
    if isinstance(inputs, dict):
        return model(**inputs)
    if isinstance(inputs, (tuple, list)):
        return model(*inputs)
    return model(inputs)


def probe_step(model: nn.Module, loss_fn: Any, batch: Any) -> StepProbe:
    inputs, targets = batch
    result = StepProbe(trainable={n: p for n, p in model.named_parameters() if p.requires_grad})
    outputs: dict[str, Any] = {}
    order: list[str] = []
    owners = {
        name: module
        for name, module in model.named_modules()
        if any(p.requires_grad for p in module.parameters(recurse=False))
    }
    handles = [
        module.register_forward_hook(_keep_output(name, outputs, order))
        for name, module in owners.items()
    ]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with torch.autograd.set_detect_anomaly(True, check_nan=False):
                try:
                    prediction = call_model(model, inputs)
                except Exception as exc:
                    return _failed(result, "forward", exc)
                try:
                    result.loss = loss_fn(prediction, targets)
                except Exception as exc:
                    return _failed(result, "loss", exc)
    finally:
        for handle in handles:
            handle.remove()
    loss = result.loss
    if not (isinstance(loss, torch.Tensor) and loss.requires_grad and loss.numel() == 1):
        return result
    result.traps = graph.traps(loss.grad_fn)
    result.stray = _stray_tensors(model, loss, batch)
    names = list(result.trainable)
    measured = [outputs[name] for name in order]
    try:
        grads = torch.autograd.grad(
            loss.reshape(()),
            [result.trainable[n] for n in names] + measured,
            allow_unused=True,
        )
    except RuntimeError as exc:
        _failed(result, "backward", exc)
        where = graph.culprit_line(loss.grad_fn, str(exc))
        result.error += f" (the tensor was made at {where})" if where else ""
        return result
    result.grads = dict(zip(names, grads[: len(names)], strict=True))
    output_grads = dict(zip(order, grads[len(names) :], strict=True))
    result.layers = [
        _layer(name, owners[name], result.grads, output_grads)
        for name in dict.fromkeys([*order, *owners])
    ]
    return result


def _layer(name: str, module: nn.Module, grads: dict, output_grads: dict) -> LayerGrad:
    prefix = f"{name}." if name else ""
    own = [
        (param, grads[prefix + key])
        for key, param in module.named_parameters(recurse=False)
        if param.requires_grad
    ]
    reached = [g for _p, g in own if g is not None]
    norm = _norm(reached) if reached else None
    zero = any(g is not None and p.dim() >= 2 and not g.any() for p, g in own)
    out = output_grads.get(name)
    return LayerGrad(
        name or "(model)",
        type(module).__name__,
        norm,
        _norm([out]) if out is not None else None,
        bool(zero),
    )


def _norm(tensors: list[torch.Tensor]) -> float:
    return float(torch.linalg.vector_norm(torch.stack([t.float().norm() for t in tensors])))


def _keep_output(name: str, outputs: dict[str, Any], order: list[str]) -> Any:
    def hook(_module: nn.Module, _args: Any, output: Any) -> None:
        tensor = output[0] if isinstance(output, (tuple, list)) and output else output
        if name in outputs or not isinstance(tensor, torch.Tensor) or not tensor.requires_grad:
            return
        outputs[name] = tensor
        order.append(name)

    return hook


def _failed(result: StepProbe, stage: str, exc: BaseException) -> StepProbe:
    result.stage = stage
    text = str(exc).strip().splitlines()[0].split(" Hint:")[0] if str(exc).strip() else ""
    result.error = f"{type(exc).__name__}: {text}"
    return result


def _stray_tensors(model: nn.Module, loss: torch.Tensor, batch: Any) -> list[str]:
    """Tensors that require grad and are trained by the loss, but are not nn.Parameters."""
    params = {id(p) for p in model.parameters()}
    from_batch = {id(t) for t in _tensors(batch)}
    attributes = _plain_attributes(model)
    stray = {
        id(t): attributes.get(id(t), f"a tensor of shape {list(t.shape)} from outside the model")
        for t in graph.leaves(loss.grad_fn)
        if t.requires_grad and id(t) not in params and id(t) not in from_batch
    }
    for key, name in attributes.items():
        stray.setdefault(key, name)
    return sorted(stray.values())


def _plain_attributes(model: nn.Module) -> dict[int, str]:
    """Module attributes (or lists / dicts of them) that are plain tensors requiring grad."""
    found: dict[int, str] = {}
    for module_name, module in model.named_modules():
        prefix = f"{module_name}." if module_name else ""
        for key, value in vars(module).items():
            if key.startswith("_"):
                continue
            for suffix, tensor in _tensor_items(value):
                if tensor.requires_grad and not isinstance(tensor, nn.Parameter):
                    found[id(tensor)] = f"{prefix}{key}{suffix}"
    return found


def _tensor_items(value: Any) -> list[tuple[str, torch.Tensor]]:
    if isinstance(value, torch.Tensor):
        return [("", value)]
    if isinstance(value, (list, tuple)):
        return [(f"[{i}]", v) for i, v in enumerate(value) if isinstance(v, torch.Tensor)]
    if isinstance(value, dict):
        return [(f"[{k!r}]", v) for k, v in value.items() if isinstance(v, torch.Tensor)]
    return []


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []
