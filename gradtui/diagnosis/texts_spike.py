"""What the spike findings say: built from the episode's numbers, one sentence per fact."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gradtui.diagnosis import thresholds as T
from gradtui.numbers import num, times

if TYPE_CHECKING:
    from gradtui.diagnosis.rules_spike import Episode

RECOVERED_WHY = (
    "One step's gradient or loss far outside its recent band that training then recovers "
    "from is what a single unusual batch does: an outlier input, a wrong label, a batch that "
    "happens to hit a sharp region of the loss. When the gradient spikes on the same step as "
    "the loss, that batch itself was unusual; when the loss spikes only after the gradient, "
    "the update the spike caused pushed the weights somewhere worse, and the step size is "
    "what let it. Large runs see this often; it matters when it repeats or grows."
)


def _what(e: Episode) -> list[str]:
    parts = []
    over = f"over the previous {e.window} steps"
    if e.grad_step is not None:
        parts.append(
            f"at step {e.grad_step} the total gradient norm jumped to {times(e.grad_ratio)} "
            f"its median {over}"
        )
    if e.loss_step is not None:
        parts.append(f"at step {e.loss_step} the loss rose to {times(e.loss_ratio)} its median")
    if not parts and e.layer_step is not None:
        parts.append(f"at step {e.layer_step} one layer's gradient left its band")
    return parts


def _first_layer(e: Episode, layers: Sequence[str]) -> str:
    if e.layer_step is None or not e.layers:
        return ""
    i, ratio = e.layers[0]
    when = "" if e.layer_step == e.start else f" at step {e.layer_step}"
    return f" The first layer out of its band was {layers[i]} ({times(ratio)} its median{when})."


def _lead(e: Episode) -> str:
    g, loss = e.grad_step, e.loss_step
    if g is not None and loss is not None:
        if g < loss:
            return f" The gradient spiked {loss - g} step(s) before the loss did."
        if g == loss:
            return " The gradient and the loss spiked on the same step."
        return f" The loss spiked {g - loss} step(s) before the gradient did."
    if g is not None:
        return " The loss stayed within its band."
    if loss is not None:
        return " The gradient norm stayed within its band."
    return ""


def _one(e: Episode, layers: Sequence[str]) -> str:
    what = "; ".join(_what(e))
    text = what[0].upper() + what[1:] + "." + _first_layer(e, layers) + _lead(e)
    if e.clipped_to is not None:
        text += f" Clipping cut the norm to {num(e.clipped_to)} before the update."
    return (
        text + f" Training recovered: by step {e.end} the gradient norm and the loss were "
        "back near their levels before it."
    )


def recovered_message(episodes: Sequence[Episode], layers: Sequence[str]) -> str:
    first = _one(episodes[0], layers)
    if len(episodes) == 1:
        return first
    steps = ", ".join(str(e.start) for e in episodes[:8])
    more = "" if len(episodes) <= 8 else f" and {len(episodes) - 8} more"
    return (
        f"{len(episodes)} spikes so far, each recovered (steps {steps}{more}). The first: {first}"
    )


def recovered_fix(episodes: Sequence[Episode]) -> str:
    steps = ", ".join(str(e.start) for e in episodes[:4])
    text = (
        f"Nothing to change if it stays rare. Look at the batch of step {steps}: an outlier "
        "or mislabeled example there is the usual cause, and skipping it is the usual fix."
    )
    if any(e.clipped_to is None for e in episodes):
        text += (
            " Clipping the gradient norm (torch.nn.utils.clip_grad_norm_(model.parameters(), "
            "1.0) between backward() and optimizer.step()) stops one batch from moving the "
            "weights far."
        )
    if len(episodes) >= T.SPIKE_REPEATS:
        text += " Spikes that repeat call for a lower learning rate or a longer warm-up."
    return text


def onset_sentence(e: Episode, layers: Sequence[str]) -> str:
    what = "; ".join(_what(e))
    if not what:
        return ""
    return (
        " It began as a spike that did not recover: "
        + what
        + "."
        + _first_layer(e, layers)
        + _lead(e)
    )
