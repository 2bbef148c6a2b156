"""What a user's setup leaves out of training, checked once when watching begins: trainable
parameters the optimizer does not hold, tensors that want a gradient but are not registered
as parameters, and layers frozen with ``requires_grad=False``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from gradtui.events import LayerInfo, StepStats
from gradtui.watch.layout import LAYER_FIELDS, ForwardOrder, block_of


def not_in_optimizer(model: nn.Module, optimizer: torch.optim.Optimizer | None) -> list[str]:
    """Names of the model's trainable parameters that no param group of ``optimizer`` holds
    (all of them when it was built over another model). [] without an optimizer."""
    if optimizer is None:
        return []
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    return [name for name, p in model.named_parameters() if p.requires_grad and id(p) not in held]


def unregistered_tensors(model: nn.Module) -> list[str]:
    """``module.attribute`` of every leaf tensor with requires_grad=True that a module keeps
    as a plain attribute: ``model.parameters()`` never yields it, so no optimizer built the
    usual way updates it."""
    registered = {id(p) for p in model.parameters()}
    found = []
    for name, module in model.named_modules():
        for attribute, value in vars(module).items():
            if (
                isinstance(value, torch.Tensor)
                and not isinstance(value, nn.Parameter)
                and value.requires_grad
                and value.is_leaf
                and id(value) not in registered
            ):
                found.append(f"{name}.{attribute}" if name else attribute)
    return found


def parameter_owners(model: nn.Module) -> dict[int, str]:
    """id(parameter) -> the name of the module that registers it."""
    return {
        id(p): name
        for name, module in model.named_modules()
        for p in module.parameters(recurse=False)
    }


def _listed(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


@dataclass(frozen=True)
class Coverage:
    """The setup checks of one watched model, as RunStarted carries them."""

    not_in_optimizer: tuple[str, ...]
    unregistered: tuple[str, ...]
    added_after_watch: tuple[str, ...] = ()

    @classmethod
    def of(cls, model: nn.Module, optimizer: torch.optim.Optimizer | None) -> Coverage:
        return cls(tuple(not_in_optimizer(model, optimizer)), tuple(unregistered_tensors(model)))

    def warn(self, log: logging.Logger) -> None:
        """Say at once, by name, what will not train."""
        if self.not_in_optimizer:
            log.warning(
                "gradtui.watch: the optimizer does not hold %d trainable parameter(s) of this "
                "model: %s. They get gradients and never change; build the optimizer from this "
                "model's parameters().",
                len(self.not_in_optimizer),
                _listed(list(self.not_in_optimizer)),
            )
        if self.unregistered:
            log.warning(
                "gradtui.watch: %s require(s) grad but is not an nn.Parameter: "
                "model.parameters() and the optimizer never see it. Wrap it in nn.Parameter.",
                _listed(list(self.unregistered)),
            )

    def at_first_step(
        self, model: nn.Module, watched: list[nn.Parameter], log: logging.Logger
    ) -> Coverage:
        """The same checks, plus the modules that gained trainable parameters after watch()
        began (the probe took its parameters then), named in a warning."""
        known = {id(p) for p in watched}
        owners = parameter_owners(model)
        added = tuple(
            dict.fromkeys(
                owners.get(id(p), name) or type(model).__name__
                for name, p in model.named_parameters()
                if p.requires_grad and id(p) not in known
            )
        )
        if added:
            log.warning(
                "gradtui.watch: %s got trainable parameters after watch() began: they are not "
                "watched. Call gradtui.watch(model, ...) once the model is complete.",
                _listed(list(added)),
            )
        return replace(self, added_after_watch=added)

    def started_fields(self) -> dict[str, tuple[str, ...]]:
        return {
            "not_in_optimizer": self.not_in_optimizer,
            "unregistered": self.unregistered,
            "added_after_watch": self.added_after_watch,
        }


def untrained_layers(model: nn.Module) -> list[tuple[str, nn.Module, nn.Parameter]]:
    """(name, module, weight) of every layer whose weight has requires_grad=False (a frozen
    backbone, a frozen embedding), named as gradtui names layers."""
    seen: set[int] = set()
    found = []
    for name, module in model.named_modules():
        if id(module) in seen:
            continue
        seen.add(id(module))
        for pname, p in module._parameters.items():
            if not isinstance(p, nn.Parameter) or p.requires_grad:
                continue
            if pname == "weight" or pname.endswith("_weight"):
                found.append((name or type(model).__name__, module, p))
                break
            if pname.startswith("weight_"):
                found.append(((name or type(model).__name__) + f".{pname}", module, p))
    return found


@dataclass(frozen=True)
class WithUntrained:
    """The layers of a run with the untrained ones put in among the watched ones (in forward
    order where it is known), and each step's per-layer values filled in for them: no
    gradient, no update, the weight norm they had at the start."""

    layers: tuple[LayerInfo, ...]
    plan: tuple[int, ...]  # per layer: index into the watched layers, or -1 - untrained index
    weight_norms: tuple[float, ...]

    @classmethod
    def of(
        cls,
        layers: tuple[LayerInfo, ...],
        modules: list[nn.Module],
        blocks: tuple[str, ...],
        untrained: list[tuple[str, nn.Module, nn.Parameter]],
        order: ForwardOrder | None,
    ) -> WithUntrained | None:
        """``layers``/``modules``: the watched layers in event order and their modules."""
        if not untrained:
            return None
        everything = [*modules, *(m for _, m, _ in untrained)]
        perm = order.permutation(everything) if order is not None else range(len(everything))
        n = len(modules)
        plan = tuple(i if i < n else -1 - (i - n) for i in perm)
        extra = [
            LayerInfo(name=name, kind=type(m).__name__, block=block_of(name, blocks), params=0)
            for name, m, _ in untrained
        ]
        with torch.no_grad():
            norms = tuple(float(p.detach().float().norm()) for _, _, p in untrained)
        merged = tuple(layers[i] if i >= 0 else extra[-1 - i] for i in plan)
        return cls(layers=merged, plan=plan, weight_norms=norms)

    def extend(self, stats: StepStats) -> StepStats:
        fill: dict[str, Any] = {
            "grad_norm": None,
            "nonfinite": 0,
            "update_ratio": 0.0,
            "grad_mean_abs": None,
            "grad_max_abs": None,
            "grad_zero_frac": None,
            "nonfinite_local": 0,
        }
        changes = {}
        for field in LAYER_FIELDS:
            values = getattr(stats, field)
            if values is None:
                continue
            changes[field] = tuple(
                values[i]
                if i >= 0
                else (self.weight_norms[-1 - i] if field == "weight_norm" else fill[field])
                for i in self.plan
            )
        return stats.evolve(**changes)
