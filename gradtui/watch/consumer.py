"""What becomes of each event once the training thread has handed it over: the diagnosis
rules see it, what they find is announced, the recording keeps it (or thins it out), and the
user's ``on_event`` gets it. The same consumer runs on the monitor's writer thread or in its
writer process (sidecar.py). No torch.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from gradtui.diagnosis import Diagnoser
from gradtui.diagnosis.notes import thinning_note
from gradtui.events import Diagnosis, Event, LayerStatus, RunFailed, RunFinished, StepStats
from gradtui.recording import Recorder
from gradtui.recording.writer import Thinning

log = logging.getLogger("gradtui.watch")
Announce = Callable[[list[Diagnosis]], None]


class Consumer:
    def __init__(
        self,
        diagnoser: Diagnoser | None,
        recorder: Recorder | None,
        thinning: Thinning | None,
        announce: Announce,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.diagnoser = diagnoser
        self.recorder = recorder
        self._thinning = thinning
        self._announce = announce
        self._on_event = on_event
        self._thinned_from: int | None = None  # the first step the recording left out

    def __call__(self, event: Event) -> None:
        fired = self.diagnoser.observe(event) if self.diagnoser is not None else []
        if fired:
            self._announce(fired)
        if self.recorder is not None:
            self._record(event, bool(fired))
        if self._on_event is not None:
            self._on_event(event)

    def end(self, event: Event) -> None:
        """The last line after an error of ours: written as it is, past the rules."""
        for sink in (self.recorder, self._on_event):
            try:
                if sink is not None:
                    sink(event)
            except Exception:
                log.debug("could not mark the run as ended", exc_info=True)

    def diagnoses(self) -> list[Diagnosis]:
        return self.diagnoser.diagnoses() if self.diagnoser is not None else []

    def layer_status(self) -> tuple[LayerStatus, ...]:
        return self.diagnoser.layer_status() if self.diagnoser is not None else ()

    def _record(self, event: Event, fired: bool) -> None:
        assert self.recorder is not None
        thinning = self._thinning
        if (
            thinning is not None
            and isinstance(event, StepStats)
            and not thinning.keeps(event.step, fired or nonfinite(event))
        ):
            if self._thinned_from is None:
                self._thinned_from = event.step
                self.recorder(thinning_note(thinning.describe(), event.step))
            return
        if thinning is not None and isinstance(event, RunFinished | RunFailed):
            # What the rules found over every step, in its last form: some cannot be found
            # again in the steps a thinned file keeps (as run --record does, headless.py).
            for diagnosis in self.diagnoses():
                self.recorder(diagnosis)
        self.recorder(event)


def nonfinite(stats: StepStats) -> bool:
    return not (math.isfinite(stats.loss) and math.isfinite(stats.grad_norm_total))
