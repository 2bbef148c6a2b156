"""Why the gradient vanishes, where the evidence can tell: a squashing activation's flat
tails, or weights too small for their fan-in. No torch.

A link's gain is its activation's slope times its weight matrix's scale. tanh has slope 1 at
zero: when few of its units sit in the flat tails, the slope cannot account for a link that
cuts the gradient several times over, and the weights' scale does (an init far below
Xavier's). A sigmoid's slope is at most 0.25 anywhere, so its links shrink the gradient even
unsaturated: that stays the activation's story."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gradtui.diagnosis import thresholds as T
from gradtui.diagnosis.context import RunInfo
from gradtui.events import Evidence

SMALL_WEIGHTS_WHY = (
    "A link's gain is its activation's slope times the scale of its weight matrix. Few tanh "
    "units are in their flat tails here, so the slope is not what cuts the gradient: the "
    "weights are too small for their fan-in, and each layer scales the signal down on the way "
    "forward and the gradient down on the way back."
)
SMALL_WEIGHTS_FIX = (
    "Initialise for tanh: nn.init.xavier_normal_(w, gain=nn.init.calculate_gain('tanh')) on "
    "every Linear/Conv weight (PyTorch's default is smaller than that for deep tanh stacks). "
    "The activation can stay; normalisation or residual connections also hold the scale."
)


@dataclass(frozen=True)
class Cause:
    note: str  # added to the finding's message
    why: str
    fix: str
    evidence: tuple[Evidence, ...]


def small_weights(
    run: RunInfo, saturated: tuple[float | None, ...] | None, faint_layers: Iterable[int]
) -> Cause | None:
    """Weights too small, when the activation is tanh and every block of the faint layers was
    measured with at most VANISH_UNSATURATED of its units saturated; else None."""
    if run.activation != "tanh" or saturated is None:
        return None
    blocks = sorted({run.layer_block[i] for i in faint_layers})
    shares = [saturated[b] if 0 <= b < len(saturated) else None for b in blocks]
    if not shares or any(s is None for s in shares):
        return None
    top = max(s for s in shares if s is not None)
    if top > T.VANISH_UNSATURATED:
        return None
    note = (
        f" At most {top:.0%} of the tanh units in those blocks are saturated (derivative "
        "under a tenth of its peak), so the slope does not explain the cut: the weights are "
        "too small for their fan-in."
    )
    evidence = (
        Evidence(
            "largest share of saturated tanh units in the shrinking blocks",
            round(top, 4),
            rules_in=("weights too small for their fan-in",),
            rules_out=("activations in their flat tails",),
        ),
    )
    return Cause(note, SMALL_WEIGHTS_WHY, SMALL_WEIGHTS_FIX, evidence)
