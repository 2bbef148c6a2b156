"""The base of the panels drawn from a run's history: redrawn only when the history changed."""

from __future__ import annotations

from textual.widget import Widget

from gradtui.ui.history import RunHistory


class HistoryPanel(Widget):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.history: RunHistory | None = None
        self._drawn: tuple[int, int] | None = None
        self._rows = 0

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())

    def show(self, history: RunHistory) -> bool:
        """Take the history to draw; False (and no redraw) when nothing changed since."""
        if history.key == self._drawn:
            return False
        self.history = history
        self._drawn = history.key
        rows = self.rows_for(history)
        if rows and rows != self._rows:  # a height change costs a layout pass: only on change
            self._rows = rows
            self.styles.height = rows
        self.refresh()
        return True

    def rows_for(self, history: RunHistory) -> int | None:
        """The height this history needs, in rows; None keeps the height from the CSS."""
        return None
