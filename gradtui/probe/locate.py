"""Find where a step went wrong, by replaying it: only on the rare step that needs it."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import torch
from torch import nn

from gradtui.events import StepStats


def first_nonfinite_module(
    model: nn.Module, forward_loss: Callable[[], torch.Tensor]
) -> str | None:
    """Replay the forward pass with a finiteness check on every module's output.

    Returns the first module (in execution order) whose output is not finite, "loss" when
    every module was finite but the loss was not, or None when the forward pass is finite.
    Containers report only when none of their children did, so the innermost culprit wins.
    BatchNorm running statistics are restored afterwards, so the replay leaves no trace.
    """
    found: list[str] = []

    def check(name: str):
        def hook(_module: nn.Module, _inputs: object, output: object) -> None:
            if not found and isinstance(output, torch.Tensor) and not output.isfinite().all():
                found.append(name)

        return hook

    buffers = {name: b.clone() for name, b in model.named_buffers()}
    handles = [
        module.register_forward_hook(check(name))
        for name, module in model.named_modules()
        if name and not isinstance(module, nn.ModuleList)
    ]
    try:
        with torch.no_grad():
            loss = forward_loss()
    finally:
        for handle in handles:
            handle.remove()
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
    if found:
        return found[0]
    return None if bool(loss.isfinite().all()) else "loss"


def forward_line_of_failure(step: Callable[[], None]) -> str:
    """Replay a failing step under anomaly detection and return the forward-pass source line
    that created the tensor whose backward failed ("" when anomaly mode names none)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with torch.autograd.detect_anomaly(check_nan=False):
                step()
        except Exception:
            pass
    for warning in caught:
        text = str(warning.message)
        if "Traceback of forward call" in text:
            return _innermost_user_frame(text)
    return ""


def _innermost_user_frame(anomaly_text: str) -> str:
    """The last frame of the forward traceback that is not inside torch itself."""
    lines = anomaly_text.splitlines()
    frames: list[str] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith('File "') and "/torch/" not in stripped:
            code = lines[i + 1].strip() if i + 1 < len(lines) else ""
            frames.append(f"{_short(stripped)}: {code}")
    return frames[-1] if frames else ""


def _short(frame: str) -> str:
    # 'File "/x/y/gradtui/scenario/models.py", line 60, in forward' -> 'models.py:60 in forward'
    try:
        path = frame.split('"')[1]
        rest = frame.split('",', 1)[1].strip()
        line = rest.split(",")[0].replace("line", "").strip()
        func = rest.split(" in ", 1)[1] if " in " in rest else "?"
        return f"{path.rsplit('/', 1)[-1]}:{line} in {func}"
    except IndexError:
        return frame


def backward_culprit(stats: StepStats, blocks: list[str], layer_blocks: Sequence[int] = ()) -> str:
    """With a finite forward pass, the first link (from the loss side) whose backward turned
    a finite gradient non-finite: "loss" if dL/d(output) is already bad, else a block.

    On a step whose chain was not read, the layers' gradients stand in (``layer_blocks``:
    each layer's block): a layer's weight gradient is its block's output gradient times a
    finite input, so the last block with a non-finite layer gradient is the last whose output
    gradient was bad, and the link after it broke."""
    norms = stats.block_grad_norm
    if norms is None:
        bad = [
            layer_blocks[i]
            for i, norm in enumerate(stats.grad_norm)
            if i < len(layer_blocks) and norm is not None and not math.isfinite(norm)
        ]
        if not bad:
            return "backward"
        last = max(bad)
        return "loss" if last == len(blocks) - 1 else blocks[last + 1]
    for j in range(len(norms) - 1, -1, -1):
        if norms[j] is not None and not math.isfinite(norms[j]):
            return "loss" if j == len(norms) - 1 else blocks[j + 1]
    return "backward"
