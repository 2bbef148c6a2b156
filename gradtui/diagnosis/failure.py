"""The autograd_error diagnosis: a step that raised, explained in plain words."""

from __future__ import annotations

import re

from gradtui.events import Diagnosis, RunFailed

AUTOGRAD_ERROR = "autograd_error"
WORKER_EXITED = "WorkerExited"  # RunFailed.error_type when the dashboard's worker died
WORKER_DIED = "worker_died"  # its diagnosis: not an autograd error, nothing to fix in the model
WORKER_WHY = (
    "The dashboard trains in a separate process, and that process ended without being asked "
    "to: it was killed (by a signal or the system running out of memory) or crashed in native "
    "code. The run's last steps are still shown; nothing was wrong with its gradients."
)
WORKER_FIX = (
    "Press r to start the run again in a new process. If it dies again, look at the system's "
    "memory (a smaller width, depth or batch) and at the worker's log."
)

_INPLACE = re.compile(
    r"modified by an inplace operation: \[(?P<tensor>.*)\], which is output (?P<out>\d+) of "
    r"(?P<op>\w+), is at version (?P<now>\d+); expected version (?P<then>\d+)"
)
_SHAPE = re.compile(r"\[(\d+(?:, \d+)*)\]")

INPLACE_WHY = (
    "To differentiate an operation, autograd keeps some of its inputs or outputs from the "
    "forward pass: a sigmoid keeps its output s, because its slope is s * (1 - s). Every "
    "in-place operation (+=, *=, .add_(), x[i] = ..., an activation with inplace=True) "
    "raises a version counter on the tensor it changes. Backward checks that counter and "
    "refuses to use a saved value that was overwritten, because the gradient it would "
    "compute from it would be silently wrong."
)
INPLACE_FIX = (
    "Make the change out of place: write out = out + 0.01 instead of out += 0.01, or call "
    ".clone() before modifying a tensor that an earlier operation used; set inplace=False on "
    "activations. The line below is where the saved tensor was made; the in-place change "
    "comes after it in the forward pass."
)
NO_GRAD_WHY = (
    "backward() needs a loss that depends, through differentiable operations, on at least "
    "one tensor with requires_grad=True. This loss does not: the whole computation ran "
    "under torch.no_grad(), on detached tensors, or the parameters were frozen."
)
NO_GRAD_FIX = (
    "Compute the loss from the model's output directly, outside torch.no_grad(), without "
    ".detach(), .item() or .numpy() on the way; check that parameters have requires_grad."
)
SECOND_WHY = (
    "Backward frees the values it saved for the graph as it walks it, so the same graph "
    "cannot be walked twice: a tensor from an earlier step (a hidden state, a running "
    "total) still points into the old, freed graph."
)
SECOND_FIX = (
    "Detach state that is carried from one step to the next (h = h.detach()), or "
    "recompute the forward pass each step; use retain_graph=True only when you really "
    "need two backward passes through one graph."
)
GENERIC_WHY = (
    "The forward or backward pass raised, so no gradient was computed for this step and "
    "the run stopped there."
)
GENERIC_FIX = (
    "Read the error and the forward line below; re-run the step under "
    "torch.autograd.detect_anomaly() for the full forward traceback of the failing op."
)


def failure_diagnosis(event: RunFailed) -> Diagnosis:
    text = event.message
    if event.error_type == WORKER_EXITED:
        message = f"The training process died after step {event.step}: {text}."
        return Diagnosis(WORKER_DIED, "error", event.step, (), message, WORKER_WHY, WORKER_FIX)
    trace = f" The forward line behind it: {event.forward_trace}." if event.forward_trace else ""
    inplace = _INPLACE.search(text)
    if inplace:
        shape = _SHAPE.search(inplace["tensor"])
        size = f"a {shape[1].replace(', ', 'x')} tensor" if shape else "a tensor"
        message = (
            f"Step {event.step} failed in backward: output {inplace['out']} of "
            f"{inplace['op']} ({size}), which autograd saved in the forward pass to compute "
            f"its gradient, was changed in place before backward used it (its version went "
            f"from {inplace['then']} to {inplace['now']}).{trace}"
        )
        why, fix = INPLACE_WHY, INPLACE_FIX
    elif "does not require grad and does not have a grad_fn" in text:
        message = (
            f"Step {event.step} failed: the loss is not connected to anything that needs a "
            f"gradient ({event.error_type}: {text}).{trace}"
        )
        why, fix = NO_GRAD_WHY, NO_GRAD_FIX
    elif "backward through the graph a second time" in text:
        message = (
            f"Step {event.step} failed: backward ran through a graph that an earlier "
            f"backward had already freed ({event.error_type}).{trace}"
        )
        why, fix = SECOND_WHY, SECOND_FIX
    else:
        message = f"Step {event.step} raised {event.error_type}: {text}.{trace}"
        why, fix = GENERIC_WHY, GENERIC_FIX
    return Diagnosis(AUTOGRAD_ERROR, "error", event.step, (), message, why, fix)
