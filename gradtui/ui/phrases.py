"""Lines that break only between phrases: "200 steps, batch 4" never ends one line and
starts the next mid-phrase. A phrase wider than the whole line still wraps at its words."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

Phrase = tuple[str, str, str]  # text, its style, the separator after it


class Phrases:
    """Phrases laid out at the width they are given, a line break only between two."""

    def __init__(self, phrases: Sequence[Phrase], style: str = "") -> None:
        self.phrases = list(phrases)
        self.style = style

    def lay_out(self, width: int) -> Text:
        text = Text(style=self.style)
        used = 0
        for index, (phrase, style, sep) in enumerate(self.phrases):
            last = index == len(self.phrases) - 1
            need = cell_len(phrase) + (0 if last else cell_len(sep.rstrip()))
            if used and used + need > width:
                text.append("\n")
                used = 0
            text.append(phrase, style)
            used += cell_len(phrase)
            if not last:
                text.append(sep.rstrip() if used + cell_len(sep) > width else sep, style)
                used += cell_len(sep)
        return text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.lay_out(options.max_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest = max((cell_len(p) for p, _s, _sep in self.phrases), default=0)
        whole = sum(cell_len(p) + cell_len(sep) for p, _s, sep in self.phrases)
        return Measurement(min(widest, options.max_width), min(whole, options.max_width))
