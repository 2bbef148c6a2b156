"""The one table of loss-side graph patterns, read by both drivers' lint and by ``gradtui check``.

A pattern is a pair of autograd node names, the consumer and what fed it, looked through the
nodes that only move values around. ``kind`` is the ``GraphIssue`` kind the watch/scenario lint
records (the diagnosis rules own its finding's text); ``pattern``, ``why`` and ``fix`` are what
``gradtui check`` prints, which has no diagnosis layer behind it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Nodes that only move or copy values: a pattern seen through them is still the same pattern.
LOOKED_THROUGH = re.compile(
    r"^(View|Reshape|UnsafeView|Select|Slice|Index|Gather|Squeeze|Unsqueeze|T|Transpose|"
    r"Permute|Expand|Clone|ToCopy|Alias|AsStrided|Narrow|Flatten|Contiguous|Split|"
    r"SplitWithSizes|Unbind|Cat|Stack|MaskedSelect|Take)(Alias)?Backward\d*$"
)


@dataclass(frozen=True)
class Pattern:
    """One numerically fragile pattern: what the lint records and what check prints."""

    kind: str
    ops: tuple[str, ...]  # the operations, input side first, as the lint records them
    pattern: str
    why: str
    fix: str


_CROSS_ENTROPY_OF_SOFTMAX = Pattern(
    "softmax_into_loss",
    ("softmax", "log_softmax"),
    "cross_entropy(softmax(x))",
    "cross_entropy applies log_softmax itself: a softmax before it squashes the logits into "
    "[0, 1], so the loss cannot go below about 0.55 per example and the gradient is tiny",
    "pass the raw logits to F.cross_entropy (drop the softmax)",
)

# (consumer, what fed it) -> the pattern
TABLE: dict[tuple[str, str], Pattern] = {
    ("Log", "Softmax"): Pattern(
        "log_of_softmax",
        ("softmax", "log"),
        "log(softmax(x))",
        "softmax rounds a small probability to exactly 0 in float32, and log(0) is -inf; its "
        "gradient 1/p is then inf, and the step's gradients turn to nan",
        "use torch.log_softmax(x, dim) (with nll_loss), or F.cross_entropy on the logits",
    ),
    ("NllLoss", "Softmax"): Pattern(
        "softmax_into_loss",
        ("softmax", "nll_loss"),
        "nll_loss(softmax(x))",
        "nll_loss expects log-probabilities; given probabilities it minimises -p instead of "
        "-log p, whose gradient vanishes as p saturates",
        "use F.cross_entropy on the logits, or nll_loss(log_softmax(x))",
    ),
    ("LogSoftmax", "Softmax"): _CROSS_ENTROPY_OF_SOFTMAX,
    ("LogSoftmax", "LogSoftmax"): Pattern(
        "softmax_into_loss",
        ("log_softmax", "log_softmax"),
        "cross_entropy(log_softmax(x))",
        "cross_entropy applies log_softmax itself; a second one changes nothing but costs a "
        "pass, and usually means the model's output is not the logits the loss expects",
        "pass the raw logits to F.cross_entropy, or use nll_loss on log_softmax(x)",
    ),
    ("BinaryCrossEntropy", "Sigmoid"): Pattern(
        "sigmoid_into_bce",
        ("sigmoid", "binary_cross_entropy"),
        "binary_cross_entropy(sigmoid(x))",
        "sigmoid rounds to exactly 0 or 1 for |x| above about 17 (float32); the loss then "
        "takes log(0), which torch clamps at -100, so the gradient is 0 there and training "
        "stalls on exactly the examples it gets most wrong",
        "use F.binary_cross_entropy_with_logits (nn.BCEWithLogitsLoss) on the logits",
    ),
    ("Log", "Sigmoid"): Pattern(
        "log_of_sigmoid",
        ("sigmoid", "log"),
        "log(sigmoid(x))",
        "sigmoid rounds to exactly 0 for x below about -88 (float32) and log(0) is -inf",
        "use F.logsigmoid(x)",
    ),
}


def short(node: Any) -> str:
    """'LogSoftmaxBackward0' -> 'LogSoftmax'."""
    return re.sub(r"Backward\d*$", "", type(node).__name__)


def looked_through(node: Any) -> bool:
    return LOOKED_THROUGH.match(type(node).__name__) is not None


def pattern_of(node: Any, fed: Any) -> Pattern | None:
    """The pattern ``node`` makes with the node that fed it, if any."""
    return TABLE.get((short(node), short(fed)))
