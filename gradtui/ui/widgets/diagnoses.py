"""Current findings, most severe first: what and where, why (the chain rule), and the fix."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from gradtui.events import Diagnosis, Evidence, RunFailed
from gradtui.numbers import short
from gradtui.text import safe_line, safe_text
from gradtui.ui.history import RunHistory
from gradtui.ui.palette import DARK, Palette, palette_of


def failure_text(failure: RunFailed, palette: Palette = DARK) -> Text:
    text = Text()
    text.append(" ERROR ", style=palette.badge("error"))
    text.append(f" training failed at step {failure.step}\n", style=palette.fg("error", True))
    text.append(f"{safe_line(failure.error_type, 80)}: {safe_text(failure.message).strip()}\n")
    if failure.forward_trace:
        text.append("where: ", style="bold")
        text.append(safe_text(failure.forward_trace).strip() + "\n")
    return text


def kind_label(diagnosis: Diagnosis) -> str:
    """The finding's kind in words: vanishing_gradients -> vanishing gradients."""
    return safe_line(diagnosis.kind.replace("_", " "), 60)


def diagnosis_text(diagnosis: Diagnosis, compact: bool = False, palette: Palette = DARK) -> Text:
    text = Text()
    role = diagnosis.severity
    text.append(f" {diagnosis.severity.upper()} ", style=palette.badge(role))
    text.append(f" {kind_label(diagnosis)}", style=palette.fg(role, bold=role != "info"))
    text.append(f"  from step {diagnosis.step}\n", style="dim")
    text.append(safe_text(diagnosis.message).strip() + "\n")
    if not compact:
        text.append("why: ", style="bold")
        text.append(safe_text(diagnosis.why).strip() + "\n")
        text.append("fix: ", style=palette.fg("ok", bold=True))
        text.append(safe_text(diagnosis.fix).strip() + "\n")
        if diagnosis.evidence:
            text.append("evidence: ", style="dim bold")
            text.append(safe_line(evidence_line(diagnosis.evidence), 400) + "\n", style="dim")
    return text


def evidence_line(evidence: tuple[Evidence, ...]) -> str:
    """What a finding's cause rests on, in one line: ``lr 0; input batch finite``."""
    return "; ".join(
        f"{e.name} {e.value if isinstance(e.value, str) else short(e.value)}" for e in evidence
    )


class DiagnosisList(Static):
    """Redraws only when a finding is added or updated, or the run ends."""

    def __init__(self, compact: bool = False, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.compact = compact
        self._key: tuple = ()
        self._history: RunHistory | None = None

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: object) -> None:
        if self._history is not None:
            self.show(self._history)

    def show(self, history: RunHistory) -> None:
        palette = palette_of(self)
        self._history = history
        key = (history.findings_key, history.failure, history.ended, palette.name)
        if key == self._key:
            return
        self._key = key
        found = history.diagnoses()
        failure = history.failure
        explained = failure and any(
            d.severity == "error" and d.step == failure.step for d in found
        )  # the rules explain most failures; the raw error is the fallback
        parts = [failure_text(failure, palette)] if failure and not explained else []
        parts += [diagnosis_text(d, self.compact, palette) for d in found]
        if not parts:
            done = "in the whole run" if history.ended else "so far"
            parts = [Text(f"No problems found {done}.", style="dim")]
        self.update(Text("\n").join(parts))
