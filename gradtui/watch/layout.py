"""Where to look in any nn.Module: its layers, its chain links (blocks) and its activations.

Layers are the modules that own a trainable ``weight`` Parameter (Linear, Conv, Embedding, norms,
attention projections, custom modules), named as ``named_modules()`` names them; a recurrent
module (RNN, LSTM, GRU) is one layer per weight matrix (``rnn.weight_hh_l0``, ...).

Blocks are the links of the chain whose output gradient is measured. We take the model's
children that hold a layer, with containers opened up: a ModuleList or ModuleDict (never
called itself) and a Sequential (a chain already) are replaced by their members; a child
that is the only one is opened up too. Other modules (a user's ``Block``, an attention)
stay whole: one link each. A model that is itself a layer is one block.

Both are put in forward execution order after the first forward pass (``ForwardOrder``); until
then, and for modules the forward never calls, ``named_modules()`` order stands.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn
from torch.utils.hooks import RemovableHandle

from gradtui.events import LayerInfo, StepStats
from gradtui.probe.heavy import RELU_FAMILY, SATURATION_Z
from gradtui.probe.probe import Watched

ACTIVATIONS = (*RELU_FAMILY, *SATURATION_Z)
LAYER_FIELDS = (
    "grad_norm",
    "nonfinite",
    "weight_norm",
    "update_ratio",
    "grad_mean_abs",
    "grad_max_abs",
    "grad_zero_frac",
    "nonfinite_local",
)
BLOCK_FIELDS = ("block_grad_norm", "dead_frac", "saturated_frac")


def layer_weight(module: nn.Module) -> nn.Parameter | None:
    """The module's own trainable ``weight``, else its first own trainable ``*_weight``
    (``in_proj_weight`` of attention); None when it has neither."""
    weight = module._parameters.get("weight")
    if isinstance(weight, nn.Parameter) and weight.requires_grad:
        return weight
    for name, param in module._parameters.items():
        if name.endswith("_weight") and isinstance(param, nn.Parameter) and param.requires_grad:
            return param
    return None


def layer_weights(module: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The weights that make ``module`` a layer, each with what its layer's name adds to the
    module's: its ``layer_weight`` (nothing added); else every own trainable ``weight_*``, one
    layer each (a recurrent module's ``weight_ih_l0``, ``weight_hh_l0``, ...)."""
    weight = layer_weight(module)
    if weight is not None:
        return [("", weight)]
    return [
        (f".{name}", param)
        for name, param in module._parameters.items()
        if name.startswith("weight_") and isinstance(param, nn.Parameter) and param.requires_grad
    ]


def layer_params(module: nn.Module, weight: nn.Parameter) -> int:
    """Trainable parameters of one layer: the module's own, or, where the module holds
    several layers (an LSTM), that layer's weight alone."""
    if len(layer_weights(module)) > 1:
        return weight.numel()
    return sum(p.numel() for p in module.parameters(recurse=False) if p.requires_grad)


def is_layer(module: nn.Module) -> bool:
    return bool(layer_weights(module))


def _holds_layer(module: nn.Module) -> bool:
    return any(is_layer(m) for m in module.modules())


def _links(prefix: str, module: nn.Module) -> list[tuple[str, nn.Module]]:
    """The children of ``module`` that hold a layer; the containers replaced by their members
    (a ModuleList or ModuleDict is never called itself, and a Sequential is a chain already)."""
    out: list[tuple[str, nn.Module]] = []
    for name, child in module.named_children():
        full = f"{prefix}.{name}" if prefix else name
        if not _holds_layer(child):
            continue
        if isinstance(child, nn.ModuleList | nn.ModuleDict | nn.Sequential) and not is_layer(child):
            out += _links(full, child)
        else:
            out.append((full, child))
    return out


def find_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    prefix, module = "", model
    while True:
        if is_layer(module):
            return [(prefix or type(model).__name__, module)]
        links = _links(prefix, module)
        if len(links) != 1:
            return links
        prefix, module = links[0]


def find_layers(model: nn.Module) -> list[tuple[str, nn.Module, nn.Parameter]]:
    """(name, module, weight) of every layer, in ``named_modules()`` order."""
    seen: set[int] = set()
    layers = []
    for name, module in model.named_modules():
        if id(module) in seen:
            continue
        seen.add(id(module))
        for suffix, weight in layer_weights(module):
            layers.append(((name or type(model).__name__) + suffix, module, weight))
    return layers


def block_of(name: str, blocks: Sequence[str]) -> int:
    """The block that holds a layer: the longest block name that prefixes it (else the last)."""
    best, best_len = len(blocks) - 1, -1
    for i, block in enumerate(blocks):
        if (name == block or name.startswith(block + ".")) and len(block) > best_len:
            best, best_len = i, len(block)
    return best


def find_activations(
    model: nn.Module, blocks: Sequence[tuple[str, nn.Module]]
) -> list[tuple[int, nn.Module]]:
    """Activation modules (ReLU family, Sigmoid, Tanh), one per block: the first one inside
    the block, else the first one defined after it and before the next block (as in
    ``Sequential(Linear, ReLU, Linear, ...)``). Functional calls (F.relu) cannot be seen."""
    block_index = {id(module): i for i, (_, module) in enumerate(blocks)}
    names = [name for name, _ in blocks]
    found: dict[int, nn.Module] = {}
    current: int | None = None
    for name, module in model.named_modules():
        if id(module) in block_index:
            current = block_index[id(module)]
        if type(module).__name__ not in ACTIVATIONS:
            continue
        inside = [i for i, b in enumerate(names) if b and name.startswith(b + ".")]
        owner = inside[-1] if inside else current
        if owner is not None and owner not in found:
            found[owner] = module
    return sorted(found.items(), key=lambda item: item[0])


ACTIVATION_NAMES = {
    "ReLU": "relu",
    "LeakyReLU": "leaky_relu",
    "GELU": "gelu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
}


def activation_name(watched: Watched) -> str:
    """The run's activation in the scenarios' words, when one kind is used throughout."""
    kinds = {type(module).__name__ for _, module in watched.activations}
    if len(kinds) != 1:
        return ""
    kind = kinds.pop()
    return ACTIVATION_NAMES.get(kind, kind.lower())


def static_watched(model: nn.Module) -> Watched:
    blocks = find_blocks(model)
    names = [name for name, _ in blocks]
    found = find_layers(model)
    return Watched(
        layers=[(name, module) for name, module, _ in found],
        blocks=blocks,
        activations=find_activations(model, blocks),
        layer_blocks=[block_of(name, names) for name, _, _ in found],
        weights=[weight for _, _, weight in found],
    )


class ForwardOrder:
    """Records the order in which modules are first called, during the first forward pass.

    A module never called itself (attention's ``out_proj``, whose weight the attention reads
    directly; a layer the forward leaves out) goes right after the call of its nearest called
    ancestor, its subtree included. Ties keep ``named_modules()`` order.
    """

    def __init__(self, model: nn.Module) -> None:
        self.calls: dict[int, int] = {}
        self._named = list(model.named_modules())
        self._handles: list[RemovableHandle] = [
            module.register_forward_pre_hook(self._seen) for _, module in self._named
        ]

    def _seen(self, module: nn.Module, _inputs: object) -> None:
        self.calls.setdefault(id(module), len(self.calls))

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _key(self, module: nn.Module) -> tuple[float, int, int]:
        definition = next((i for i, (_, m) in enumerate(self._named) if m is module), 0)
        if id(module) in self.calls:
            return (self.calls[id(module)], 0, definition)
        name = self._named[definition][0]
        called = [n for n, m in self._named if id(m) in self.calls and _within(name, n)]
        if not called:
            return (math.inf, 1, definition)
        ancestor = max(called, key=len)  # the nearest called ancestor; after its whole call
        last = max(
            self.calls[id(m)]
            for n, m in self._named
            if id(m) in self.calls and _within(n, ancestor)
        )
        return (last, 1, definition)

    def permutation(self, modules: Sequence[nn.Module]) -> list[int]:
        """Indices into ``modules`` in forward order."""
        keys = [self._key(m) for m in modules]
        return sorted(range(len(modules)), key=lambda i: keys[i])


def _within(name: str, ancestor: str) -> bool:
    return ancestor == "" or name == ancestor or name.startswith(ancestor + ".")


@dataclass(frozen=True)
class Layout:
    """The watched modules in the order events use, and the probe's order mapped onto it."""

    layers: tuple[LayerInfo, ...]
    blocks: tuple[str, ...]
    layer_perm: tuple[int, ...]  # event index -> probe index
    block_perm: tuple[int, ...]

    @classmethod
    def of(cls, watched: Watched, order: ForwardOrder | None) -> Layout:
        layer_modules = [m for _, m in watched.layers]
        block_modules = [m for _, m in watched.blocks]
        if order is None:
            layer_perm, block_perm = (
                list(range(len(layer_modules))),
                list(range(len(block_modules))),
            )
        else:
            layer_perm = order.permutation(layer_modules)
            block_perm = order.permutation(block_modules)
        new_block = {old: new for new, old in enumerate(block_perm)}
        weights = watched.weights or [layer_weight(m) for _, m in watched.layers]
        layers = tuple(
            LayerInfo(
                name=watched.layers[i][0],
                kind=type(watched.layers[i][1]).__name__,
                block=new_block[watched.layer_blocks[i]],
                params=layer_params(watched.layers[i][1], weights[i]),
            )
            for i in layer_perm
        )
        return cls(
            layers=layers,
            blocks=tuple(watched.blocks[i][0] for i in block_perm),
            layer_perm=tuple(layer_perm),
            block_perm=tuple(block_perm),
        )

    @functools.cached_property
    def in_probe_order(self) -> bool:
        """The probe already measures in this layout's order: nothing to reorder."""
        return self.layer_perm == tuple(range(len(self.layer_perm))) and self.block_perm == tuple(
            range(len(self.block_perm))
        )

    def reorder(self, stats: StepStats) -> StepStats:
        """A probe event with its per-layer and per-block tuples put in this layout's order."""
        if self.in_probe_order:
            return stats
        changes = {}
        for field, perm in [(f, self.layer_perm) for f in LAYER_FIELDS] + [
            (f, self.block_perm) for f in BLOCK_FIELDS
        ]:
            values = getattr(stats, field)
            if values is not None:
                changes[field] = tuple(values[i] for i in perm)
        return stats.evolve(**changes)
