"""Incremental diagnosis of a run: feed events in order, read findings at any time.

INTERFACE ONLY so far: the rules are being written (issue 3). It fires nothing yet.
"""

from __future__ import annotations

from gradtui.events import Diagnosis, Event, LayerStatus, RunStarted


class Diagnoser:
    def __init__(self) -> None:
        self.started: RunStarted | None = None
        self._fired: list[Diagnosis] = []

    def observe(self, event: Event) -> list[Diagnosis]:
        """Take the next event; return the diagnoses that fired for the first time on it."""
        if isinstance(event, RunStarted):
            self.started = event
        return []

    def diagnoses(self) -> list[Diagnosis]:
        """Every diagnosis fired so far, most severe first, then by step."""
        order = {"error": 0, "warning": 1, "info": 2}
        return sorted(self._fired, key=lambda d: (order[d.severity], d.step))

    def layer_status(self) -> tuple[LayerStatus, ...]:
        """The current status of each layer, in RunStarted.layers order."""
        return tuple("ok" for _ in (self.started.layers if self.started else ()))
