"""Findings about the setup, known from the start of a watched run: trainable parameters the
optimizer does not hold. Their layers count as explained from the first step on, so the
generic rules (frozen, small updates, a stuck loss) do not tell the same story again."""

from __future__ import annotations

from gradtui.diagnosis import texts
from gradtui.diagnosis.context import Finding, RunInfo, StepView
from gradtui.diagnosis.rules_params import FROZEN
from gradtui.events import Diagnosis, LayerStatus, RunStarted, Severity

UNREGISTERED = "unregistered_parameter"
NOT_WATCHED = "not_watched"
UNTRAINED = "untrained_layers"


def layers_of_parameters(run: RunInfo, names: tuple[str, ...]) -> list[int]:
    """The layers that parameter names belong to: a layer named like the parameter (an LSTM's
    ``rnn.weight_hh_l0``), else the layer named like its module (``fc`` for ``fc.bias``)."""
    index = {name: i for i, name in enumerate(run.layers)}
    found = set()
    for name in names:
        owner = name.rsplit(".", 1)[0] if "." in name else ""
        if name in index:
            found.add(index[name])
        elif owner in index:
            found.add(index[owner])
        elif not owner and len(run.layers) == 1:  # the model is itself the layer
            found.add(0)
    return sorted(found)


def listed(names: tuple[str, ...], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


class SetupRule:
    def __init__(self, run: RunInfo, started: RunStarted) -> None:
        self.run = run
        self.left_out = started.not_in_optimizer
        self.left_out_layers = frozenset(layers_of_parameters(run, self.left_out))
        self.unregistered = started.unregistered
        self.added = started.added_after_watch
        self.untrained = (
            tuple(layer.name for layer in started.layers if layer.params == 0)
            if started.source == "watch"
            else ()
        )
        self.reported = False

    def step(self, view: StepView) -> list[Finding]:
        view.explained |= self.left_out_layers
        if self.reported:
            return []
        self.reported = True
        found = []
        if self.left_out:
            found.append((f"{FROZEN}:optimizer", self._left_out(view)))
        if self.unregistered:
            message = (
                f"{listed(self.unregistered)}: held by a module with requires_grad=True but "
                "not registered as an nn.Parameter, so model.parameters() and the optimizer "
                "never see it: it gets a gradient and never changes."
            )
            found.append(
                (
                    UNREGISTERED,
                    Diagnosis(
                        UNREGISTERED,
                        "warning",
                        view.step,
                        (),
                        message,
                        texts.UNREGISTERED_WHY,
                        texts.UNREGISTERED_FIX,
                    ),
                )
            )
        if self.untrained:
            message = (
                f"{len(self.untrained)} layer(s) have requires_grad=False and are not trained: "
                f"{listed(self.untrained)}. They are listed as 'untrained'; if they are meant "
                "to stay fixed (a frozen backbone), nothing needs to change."
            )
            found.append(
                (
                    UNTRAINED,
                    Diagnosis(
                        UNTRAINED,
                        "info",
                        view.step,
                        self.untrained,
                        message,
                        texts.UNTRAINED_WHY,
                        texts.UNTRAINED_FIX,
                    ),
                )
            )
        if self.added:
            message = (
                f"{listed(self.added)} got trainable parameters after gradtui.watch() began: "
                "nothing of them is measured, and an optimizer built before them does not "
                "train them either."
            )
            found.append(
                (
                    NOT_WATCHED,
                    Diagnosis(
                        NOT_WATCHED,
                        "warning",
                        view.step,
                        (),
                        message,
                        texts.NOT_WATCHED_WHY,
                        texts.NOT_WATCHED_FIX,
                    ),
                )
            )
        return found

    def _left_out(self, view: StepView) -> Diagnosis:
        names = self.left_out
        trainable = sum(self.run.trainable)
        none_held = bool(trainable) and len(self.left_out_layers) >= trainable
        message = (
            f"The optimizer does not hold {len(names)} trainable parameter(s): "
            f"{listed(names)}. Their gradients are computed every step and never "
            "applied, so these weights keep their initial values."
        )
        if none_held:
            message += (
                " It holds none of this model's parameters: it was built over another model object."
            )
        severity: Severity = "error" if none_held else "warning"
        return Diagnosis(
            FROZEN,
            severity,
            view.step,
            self.run.names(sorted(self.left_out_layers)),
            message,
            texts.NOT_IN_OPTIMIZER_WHY,
            texts.NOT_IN_OPTIMIZER_FIX,
        )

    def status(self) -> dict[int, LayerStatus]:
        return dict.fromkeys(self.left_out_layers, "frozen")
