"""How much memory a scenario would take, estimated from its shape before anything is built.

float32 throughout: the weights with their gradients, the probe's copy and the optimizer's
state; the dataset, at its peak while it is made (models.make_data: the inputs, a scaled-back
copy of them unless ``input_scale`` is 1, the teacher's outputs and their temporaries), and
one batch of it copied out; and one batch's activations through every block, kept for
backward and looked at by the probe. The estimate is rough and errs high: within 1x to 2x of
the measured peak for data-heavy scenarios (tests/unit/test_budget.py); it is there to refuse
a file that asks for tens of gigabytes, not to plan a run. No torch.
"""

from __future__ import annotations

import os
from typing import Any

FLOAT = 4
ACTIVATION_COPIES = 8  # per unit and example: pre/post activation, norm, their gradients, hooks
WEIGHT_COPIES = 4  # weight, gradient, the probe's snapshot, and one spare
TARGET_COPIES = 4  # per example and output: the teacher, sin(2t), 0.5t and their sum
LIMIT_CAP = 4 << 30


def limit_bytes() -> int:
    """4 GiB, or half the machine's memory when that is less."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return LIMIT_CAP
    return min(LIMIT_CAP, physical // 2)


def estimate(model: Any, data: Any, train: Any) -> dict[str, int]:
    """Bytes per part: ``weights``, ``data`` and ``activations``."""
    width, depth = model.width, model.depth
    params = data.inputs * width + (depth - 1) * width * width + width * data.outputs
    params += (depth + 1) * width + data.outputs  # biases
    optimizer_state = {"adam": 2, "sgd": 1 if train.momentum else 0}.get(train.optimizer, 2)
    batch = min(train.batch, data.samples)
    return {
        "weights": params * FLOAT * (WEIGHT_COPIES + optimizer_state),
        "data": data_bytes(data, batch),
        "activations": batch * width * depth * FLOAT * ACTIVATION_COPIES,
    }


def data_bytes(data: Any, batch: int) -> int:
    """The dataset at its peak while it is made, and one batch copied out of it."""
    inputs = data.samples * data.inputs * FLOAT * (1 if data.input_scale == 1.0 else 2)
    if data.task == "classification":  # the teacher's outputs, then one int64 index each
        targets = data.samples * (data.outputs * FLOAT + 8)
    else:
        targets = data.samples * data.outputs * FLOAT * TARGET_COPIES
    copied = batch * (data.inputs + data.outputs) * FLOAT if batch < data.samples else 0
    return inputs + targets + copied


FIELDS = {
    "weights": "model.width and model.depth",
    "data": "data.samples and data.inputs",
    "activations": "train.batch, model.width and model.depth",
}


def too_big(model: Any, data: Any, train: Any) -> str | None:
    """None when the scenario fits; else one line with the estimate and what drives it."""
    parts = estimate(model, data, train)
    total, limit = sum(parts.values()), limit_bytes()
    if total <= limit:
        return None
    largest = max(parts, key=parts.__getitem__)
    return (
        f"{FIELDS[largest]}: needs about {_size(total)} of memory ({largest} "
        f"{_size(parts[largest])}), more than the {_size(limit)} a scenario may use"
    )


def _size(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.0f} MiB"
