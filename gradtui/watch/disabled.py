"""What ``gradtui.watch`` returns when setting up failed inside gradtui."""

from __future__ import annotations

from typing import Any

import torch

from gradtui.events import Diagnosis
from gradtui.watch.guard import Guard


class DisabledMonitor:
    """What ``watch`` returns when setting up failed inside gradtui: the same calls, doing
    nothing but the user's own work (``backward`` still runs backward)."""

    closed = True
    finite = True  # nothing measured: a loop that tests it goes on as if unwatched
    steps = 0
    steps_skipped = 0
    path = None

    def __init__(self, model: Any) -> None:
        self.model = model

    def step(self, loss: torch.Tensor | float) -> None:
        pass

    def clip_grad_norm_(self, max_norm: float) -> torch.Tensor:
        return torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        loss.backward(**kwargs)

    def begin_step(self) -> None:
        pass

    def skip_step(self) -> None:
        pass

    def clipped_by_trainer(self, max_norm: float) -> None:
        pass

    def close(self) -> None:
        pass

    def diagnoses(self) -> list[Diagnosis]:
        return []

    def __enter__(self) -> DisabledMonitor:
        return self

    def __exit__(self, *_: object) -> None:
        pass


def disabled_monitor(exc: Exception, model: Any) -> DisabledMonitor:
    Guard(lambda: None).trip(exc)
    return DisabledMonitor(model)
