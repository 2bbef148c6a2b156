"""How to read each panel, and the keys."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]gradtui[/b] trains a small network and shows its backward pass as it happens.

[b]Header[/b]  scenario · step done/total · steps per second received · speed setting · state.

[b]Layers[/b]  one row per layer with weights, input side first. The sparkline is log10 of the
L2 norm of the weight gradient |∂L/∂W| over recent steps (taller = larger; all rows share one
scale, shown under the panel). The number is the latest norm in scientific notation (3.2e-05
means 0.000032). The badge is the layer's status: ok, vanishing, exploding, nonfinite,
missing (no gradient reached it), frozen, dead (ReLU units never active) or saturated.

[b]Loss[/b]  the training loss per step. When it spans two decades or more the axis switches to
log10(loss), and says so. A red vertical line marks the first step with a nan or inf.

[b]Diagnoses[/b]  what the rules found, most severe first: what and where, why (the chain-rule
reason), and the fix. Each new one is announced once in a notification.

[b]Chain rule[/b]  backprop multiplies the gradient by one factor per block on its way from the
loss to the input. Each column is one block's gain (input on the left, head H on the right) on a
log scale from ×0.1 to ×10; ▲ and ▼ mean off the scale. Blue columns shrink the gradient below
×0.5, red ones grow it above ×2, ✕ means no gradient passes (a detach), ! means nan/inf. The
product line is the whole chain from the loss back to the first block's input.

[b]Gradient flow[/b]  rows are layers (input at the top, two layers per text row: the upper half
is the first; a very deep network merges neighbours and labels each row with its first layer),
columns are steps from the start of the run to now, colour is log10 |∂L/∂W|: blues are tiny
(vanishing), greens healthy, yellow, brown and red large (exploding), magenta nan/inf, grey
exactly zero, black no gradient at all. The key is under the panel.

[b]Keys[/b]
  space      pause / resume              n        one step (pauses first when running)
  r          restart the run             + / -    faster / slower (1/s … max)
  c          compare with another run    escape   back (from a file: quit, after asking)
  t          notifications on / off      p        compare: switch the lower panels
  ?          this help                   q        quit
tab moves the focus between panels; the arrows, page up/down or the mouse wheel scroll the one
in focus. ctrl+p opens the command palette.
In the picker: type to filter (spaces between words), ↑/↓ to choose, enter to launch. With the
filter empty, space marks a scenario; mark two, then c opens them side by side.
"""


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
