"""``gradtui launch NAME --record FILE``: a live run whose events the UI process writes down.

The worker trains in another process; the events it sends are the events shown, so writing
them here (with the same Recorder as ``gradtui run --record``) gives a recording that replays
as the screen showed it. Only the first run is recorded: a restart (``r``) ends the file.
"""

from __future__ import annotations

from collections.abc import Callable

from gradtui.events import Event, RunFailed, RunFinished
from gradtui.recording import Recorder
from gradtui.scenario.spec import ScenarioSpec
from gradtui.ui.sources import POLL_BUDGET_S, LiveSource, Source


class RecordedLiveSource(LiveSource):
    def __init__(self, spec: ScenarioSpec, speed: float | None, recorder: Recorder) -> None:
        super().__init__(spec, speed)
        self.recorder: Recorder | None = recorder
        self.record_error: str | None = None  # why the recording stopped early, if it did

    def poll(self, budget_s: float = POLL_BUDGET_S) -> list[Event]:
        events = super().poll(budget_s)
        for event in events:
            self._write(event)
        return events

    def _write(self, event: Event) -> None:
        if self.recorder is None:
            return
        try:
            self.recorder(event)
        except OSError as exc:
            self.record_error = f"cannot write: {exc.strerror or exc}"
            self._stop_recording()
            return
        if isinstance(event, RunFinished | RunFailed):
            self._stop_recording()

    def _stop_recording(self) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            try:
                recorder.close()
            except OSError as exc:
                self.record_error = self.record_error or f"cannot write: {exc.strerror or exc}"

    def restart(self) -> None:
        self._stop_recording()
        super().restart()

    def close(self, timeout_s: float = 0.4) -> None:
        """Quitting mid-run ends the recording as a stopped run, so it replays cleanly."""
        super().close(timeout_s)
        self._write(RunFinished(steps_run=self._steps, stopped=True))


def recording_first(recorder: Recorder) -> Callable[[ScenarioSpec, float | None], Source]:
    """A make_source for GradApp: the first run is recorded, any later one is not."""
    pending: list[Recorder] = [recorder]

    def make(spec: ScenarioSpec, speed: float | None) -> Source:
        if pending:
            return RecordedLiveSource(spec, speed, pending.pop())
        return LiveSource(spec, speed)

    return make
