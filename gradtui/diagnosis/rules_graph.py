"""Findings from the lint of the loss's autograd graph at the first step (probe/lint.py)."""

from __future__ import annotations

from gradtui.diagnosis import texts
from gradtui.diagnosis.context import Finding, RunInfo, StepView
from gradtui.diagnosis.rules_params import MISSING
from gradtui.diagnosis.rules_setup import layers_of_parameters, listed
from gradtui.events import Diagnosis, GraphIssue

LOG_OF_SOFTMAX = "log_of_softmax"
SOFTMAX_INTO_LOSS = "softmax_into_loss"
SIGMOID_INTO_BCE = "sigmoid_into_bce"
UNREGISTERED = "unregistered"
BELOW_FLOOR = "loss_below_floor"
BELOW_FLOOR_WHY = (
    "Binary and categorical cross-entropy are sums of -t*log(p) terms, which are never "
    "negative while every target t lies in [0, 1] (class indices in [0, classes)). A negative "
    "value means a target outside that range: each such term then rewards pushing its log(p) "
    "to infinity, so the loss falls without bound and the gradient grows step after step."
)
BELOW_FLOOR_FIX = (
    "Check the targets: print y.min(), y.max(); scale or threshold them into [0, 1] for "
    "binary_cross_entropy (e.g. labels in {-1, 1} -> (y + 1) / 2), or pass class indices "
    "in [0, classes) to cross_entropy."
)
UNREGISTERED_WHY = (
    "The optimizer was built from model.parameters(), which lists only tensors registered "
    "on a Module (an nn.Parameter attribute, or a module in nn.ModuleList/ModuleDict). A "
    "tensor kept in a plain list or dict, on an object that is not a Module, or made in a "
    "closure gets a gradient from backward but is never stepped, saved or moved to the device."
)
UNREGISTERED_FIX = (
    "Register it: make it an nn.Parameter attribute of a Module, hold sub-modules in "
    "nn.ModuleList / nn.ModuleDict instead of a list or dict, and tensors in "
    "nn.ParameterList / nn.ParameterDict. If it is an input you meant to differentiate, "
    "ignore this."
)


class GraphRule:
    def __init__(self, run: RunInfo) -> None:
        self.run = run
        self.floored = ""  # the loss's name when it cannot go below 0 (step 0's lint)
        self.told_floor = False

    def step(self, view: StepView) -> list[Finding]:
        found = []
        for issue in view.stats.graph_issues:
            if issue.kind == "floored_loss" and issue.ops:
                self.floored = issue.ops[0]
        if self.floored and not self.told_floor and view.stats.loss < 0:
            self.told_floor = True
            found.append((BELOW_FLOOR, _below_floor(view.step, self.floored, view.stats.loss)))
        for issue in view.stats.graph_issues:
            diagnosis = self._diagnosis(view.step, issue)
            if diagnosis is not None:
                found.append((diagnosis.kind, diagnosis))
        return found

    def _diagnosis(self, step: int, issue: GraphIssue) -> Diagnosis | None:
        chain = " -> ".join(issue.ops)
        where = f"At step {step} the loss's autograd graph has {chain}"
        if issue.kind == LOG_OF_SOFTMAX:
            message = (
                f"{where}: the log of a softmax, computed in two steps. It is finite now and "
                "goes to -inf (then NaN) as soon as a probability rounds to 0."
            )
            return Diagnosis(
                LOG_OF_SOFTMAX,
                "warning",
                step,
                (),
                message,
                texts.LOG_OF_SOFTMAX_WHY,
                texts.LOG_OF_SOFTMAX_FIX,
            )
        if issue.kind == SOFTMAX_INTO_LOSS:
            first, loss = issue.ops[0], issue.ops[-1]
            own = (
                "which expects log-probabilities, not probabilities"
                if loss == "nll_loss"
                else "which applies its own log_softmax"
            )
            message = f"{where}: the output of {first} is fed to {loss}, {own}."
            return Diagnosis(
                SOFTMAX_INTO_LOSS,
                "error",
                step,
                (),
                message,
                texts.SOFTMAX_INTO_LOSS_WHY,
                texts.SOFTMAX_INTO_LOSS_FIX,
            )
        if issue.kind == SIGMOID_INTO_BCE:
            message = (
                f"{where}: probabilities from a sigmoid fed to binary_cross_entropy, which "
                "loses precision where the sigmoid saturates."
            )
            return Diagnosis(
                SIGMOID_INTO_BCE,
                "warning",
                step,
                (),
                message,
                texts.SIGMOID_INTO_BCE_WHY,
                texts.SIGMOID_INTO_BCE_FIX,
            )
        if issue.kind == "unreached" and issue.params:
            layers = self.run.names(layers_of_parameters(self.run, issue.params))
            message = (
                f"At step {step} the loss does not reach {len(issue.params)} trainable "
                f"parameter(s): {listed(issue.params)}. Nothing of the loss's graph leads to "
                "them, so backward leaves their .grad empty."
            )
            return Diagnosis(
                MISSING, "warning", step, layers, message, texts.UNREACHED_WHY, texts.MISSING_FIX
            )
        if issue.kind == UNREGISTERED and issue.params:
            return _unregistered(step, issue)
        return None


def _unregistered(step: int, issue: GraphIssue) -> Diagnosis:
    message = (
        f"At step {step} the loss reaches {len(issue.params)} trainable tensor(s) that are not "
        f"among the model's named_parameters(): {listed(issue.params)}."
    )
    return Diagnosis(UNREGISTERED, "warning", step, (), message, UNREGISTERED_WHY, UNREGISTERED_FIX)


def _below_floor(step: int, loss: str, value: float) -> Diagnosis:
    message = (
        f"At step {step} {loss} is {value:.4g}, below its floor of 0: some targets are "
        "outside the loss's domain."
    )
    return Diagnosis(BELOW_FLOOR, "error", step, (), message, BELOW_FLOOR_WHY, BELOW_FLOOR_FIX)
