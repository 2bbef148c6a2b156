"""L2 norms of many small tensors in a few kernels.

On a CPU each reduction costs a dispatch of about 1.5 µs whatever its size, so a hundred small
tensors cost more in overhead than in arithmetic. A plan stacks the tensors that share a shape
and reduces each stack in one call; the odd shapes left over go through one ``_foreach_norm``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

# A shape shared by fewer tensors than this is cheaper to reduce tensor by tensor; so is a
# tensor this large, whose copy into a stack costs more than its own dispatch saves. On a GPU
# nothing is stacked: there ``_foreach_norm`` is one fused kernel for many tensors.
MIN_STACK = 3
MAX_STACKED_NUMEL = 16_384


class NormPlan:
    """How to reduce a fixed list of tensors: ``gather`` them into parts (one stack per shared
    shape, then the odd ones), take the ``norms`` of the parts in part order, ``arrange`` the
    transferred values back into the order of the tensors.

    Stacks are written into buffers the plan keeps, so a step that reuses a plan allocates
    nothing large."""

    def __init__(self, tensors: Sequence[torch.Tensor], stack: bool = True) -> None:
        """``stack`` False keeps every tensor on its own, in order: the layout of a sharded
        model's values, which must be the same on every rank whatever its shards' shapes."""
        by_kind: dict[tuple, list[int]] = {}
        for index, tensor in enumerate(tensors):
            stackable = (
                stack and tensor.device.type == "cpu" and tensor.numel() <= MAX_STACKED_NUMEL
            )
            kind = (*tensor.shape, tensor.dtype) if stackable else index
            by_kind.setdefault(kind, []).append(index)
        self.stacks = [members for members in by_kind.values() if len(members) >= MIN_STACK]
        stacked = {i for members in self.stacks for i in members}
        self.singles = [i for i in range(len(tensors)) if i not in stacked]
        flat_order = [i for members in self.stacks for i in members] + self.singles
        self.position = [0] * len(tensors)
        for place, index in enumerate(flat_order):
            self.position[index] = place
        self.size = len(tensors)
        self._buffers: dict[int, list[torch.Tensor]] = {}

    def gather(
        self, tensors: Sequence[torch.Tensor], buffer: int = 0, copy: bool = False
    ) -> list[torch.Tensor]:
        """One stack per shared shape, written into the plan's buffer set ``buffer``, then the
        odd tensors themselves, or copies of them in that buffer set if ``copy``."""
        out = self._buffers.get(buffer)
        if out is None:
            out = self._buffers[buffer] = self._allocate(tensors, copy)
        parts = [
            torch.stack([tensors[i] for i in members], out=target)
            for members, target in zip(self.stacks, out, strict=False)
        ]
        singles = out[len(self.stacks) :]
        if copy:
            parts.extend(
                target.copy_(tensors[i]) for i, target in zip(self.singles, singles, strict=True)
            )
        else:
            parts.extend(tensors[i] for i in self.singles)
        return parts

    def _allocate(self, tensors: Sequence[torch.Tensor], copy: bool) -> list[torch.Tensor]:
        buffers = []
        for members in self.stacks:
            first = tensors[members[0]]
            shape = (len(members), *first.shape)
            buffers.append(torch.empty(shape, dtype=first.dtype, device=first.device))
        if copy:  # a buffer set is gathered the same way each time it is used
            buffers.extend(torch.empty_like(tensors[i]) for i in self.singles)
        return buffers

    def norms(self, parts: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """1-D tensors of norms, in part order; concatenate them with other plans' norms so a
        whole step travels to Python in one transfer."""
        count = len(self.stacks)
        out = [
            torch.linalg.vector_norm(part.reshape(part.shape[0], -1), dim=1)
            for part in parts[:count]
        ]
        if len(parts) > count:
            out.append(torch.stack(torch._foreach_norm(list(parts[count:]))))
        return out

    def arrange(self, values: Sequence[float]) -> list[float]:
        """Values in part order (as ``norms`` made them) back in the order of the tensors."""
        return [values[place] for place in self.position]
