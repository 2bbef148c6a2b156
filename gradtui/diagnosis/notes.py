"""Notes gradtui writes about its own recording (watch(), run --record): a gap, thinning."""

from __future__ import annotations

from gradtui.diagnosis import texts
from gradtui.events import Diagnosis


def gap_note(dropped: list[int]) -> Diagnosis:
    """Steps the writer could not take, neither recorded nor diagnosed."""
    first, last = dropped[0], dropped[-1]
    return Diagnosis(
        kind="recording_gap",
        severity="info",
        step=first,
        layers=(),
        message=f"{len(dropped)} steps between step {first} and step {last} were neither "
        "recorded nor diagnosed: gradtui's writer fell behind the training.",
        why=texts.RECORDING_GAP_WHY,
        fix=texts.RECORDING_GAP_FIX,
    )


def thinning_note(kept: str, step: int) -> Diagnosis:
    """The recording says, at the first step it leaves out, which steps it keeps."""
    return Diagnosis(
        kind="recording_thinned",
        severity="info",
        step=step,
        layers=(),
        message=f"The recording is thinned: {kept}. The diagnoses saw every step.",
        why=texts.RECORDING_THINNED_WHY,
        fix=texts.RECORDING_THINNED_FIX,
    )
