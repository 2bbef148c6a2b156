"""How to read each panel, and the keys."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# Paragraphs are written wrapped here and unwrapped before they are shown, so Textual wraps
# them to the width of the box; the keys table keeps its lines.
PARAGRAPHS = """\
[b]gradtui[/b] trains a small network and shows its backward pass as it happens.

[b]Moving around[/b]  tab and shift+tab move the focus from panel to panel; the arrows, page
up / page down and the mouse wheel scroll the panel in focus (or the one under the mouse).
ctrl+p opens the command palette (themes, screenshot, every command). This help scrolls the
same way; escape closes it.

[b]Header[/b]  scenario · step done/total · steps per second received · speed setting · state.

[b]Layers[/b]  one row per layer with weights, input side first. A layer named only by its
position in an nn.Sequential shows its kind, 4 (Linear), and is column 4 of the chain. The
sparkline is log10 of the L2 norm of the weight gradient |∂L/∂W| over recent steps (taller =
larger; all rows share one scale, shown under the panel). The number is the latest norm in
scientific notation (3.2e-05 means 0.000032). The badge is the layer's status: ok, vanishing,
exploding, nonfinite, missing (no gradient reached it), frozen, dead (ReLU units never
active), saturated, untrained, or no data (not measured yet).

[b]Loss[/b]  the training loss per step as a grey line, and over it in cyan a smoothed trend
(an exponential moving average, as TensorBoard draws). When the loss spans two decades or more
the axis is logarithmic and its ticks are powers of ten (1e-2, 1e0). A red vertical line marks
the first step with a nan or inf.

[b]Diagnoses[/b]  what the rules found, most severe first: what and where, why (the chain-rule
reason), and the fix. Each new warning or error is announced once in a notification (t turns
them off).

[b]Chain rule[/b]  backprop multiplies the gradient by one factor per block on its way from the
loss to the input. Each column is one block's gain, on a log scale from ×0.1 to ×10, labelled
underneath with the block's name as the Layers panel shows it (input on the left, the head H on
the right); ▲ and ▼ mean off the scale. A green ━ on the ×1 line is a healthy link, blue
columns shrink the gradient below ×0.5, red ones grow it above ×2, ✕ means no gradient passes
(a detach), ! means nan/inf. The product line is the whole chain from the loss back to the
first block's input.

[b]Gradient flow[/b]  rows are layers, labelled with the layer's number (input at the top, two
layers per text row: the upper half is the first; a very deep network merges neighbours),
columns are steps from the start of the run to now, colour is log10 |∂L/∂W| in even bins two
decades wide: blues and cyan tiny (vanishing, below 1e-3), greens the usual middle (1e-3 to
1e1), yellow and red large (exploding), magenta nan/inf, dark grey exactly zero, light grey no
gradient at all. The key under the panel names the edges between the colours.
"""

KEYS = """\
[b]Keys[/b]
  space      pause / resume              n        one step (pauses first when running)
  r          restart the run             + / -    faster / slower (1/s … max)
  c          compare with another run    escape   back (from a file: quit, after asking)
  t          notifications on / off      p        compare: switch the lower panels
  ?          this help                   q        quit
  tab        next panel                  shift+tab  previous panel
"""

PICKER = """\
[b]In the picker[/b]  type to filter (spaces between words), ↑/↓ to choose, enter to launch.
With the filter empty, space marks a scenario; mark two, then c opens them side by side.
"""


def unwrap(text: str) -> str:
    """Each paragraph on one line, for Textual to wrap (a heading's space goes inside its
    bold span: Textual's wrapping drops a space that only follows a span)."""
    paragraphs = (" ".join(part.split("\n")) for part in text.strip().split("\n\n"))
    return "\n\n".join(
        part.replace("[/b]  ", ": [/b]").replace("[/b] ", " [/b]") for part in paragraphs
    )


HELP = f"{unwrap(PARAGRAPHS)}\n\n{KEYS}\n{unwrap(PICKER)}"


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", key_display="?"),
        Binding("q", "app.quit", "Quit"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Reading the dashboard"
            box.border_subtitle = "escape to close"
            yield Static(HELP, id="help-text")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
