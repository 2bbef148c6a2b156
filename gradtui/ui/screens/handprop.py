"""Exercise 1 by hand: a 2-3-1 MLP's backward pass, line by line, beside autograd's values.

Each backward line first shows its formula only, so the learner can work the value out from
the lines above; the next key reveals the value by hand and autograd's. The values by hand come
from gradtui.learn.handprop (plain Python); autograd's come from the worker process behind
gradtui.learn.client, so this screen never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from gradtui.learn import handprop
from gradtui.learn.client import OracleClient, OracleError
from gradtui.ui.widgets.footer import FittingFooter

LINES = 7  # the backward pass of the 2-3-1 MLP, one chain-rule line each
# Step 0 is the notes' first example; then each line twice: its formula, then its values.
LAST_STEP = 2 * LINES
INDENT = " " * 13  # under the value after "   by hand   "


def shown_at(step: int) -> tuple[int, bool]:
    """(how many backward lines are on screen, whether the last of them shows its values)."""
    return (step + 1) // 2, step > 0 and step % 2 == 0


class HandpropScreen(Screen[None]):
    DEFAULT_CSS = """
    #hp-title { height: 1; padding: 0 1; background: $panel; }
    #hp-body { height: 1fr; }
    #hp-forward { width: 36; height: 1fr; }
    #hp-backward { width: 1fr; height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space,n,right,l", "next", "Reveal next"),
        Binding("s", "show_all", "Show all"),
        Binding("p,left,h", "previous", "Previous"),
        Binding("r", "new_weights", "New weights"),
        Binding("a", "switch_activation", "σ/tanh"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(
        self,
        seed: int = 1,
        activation: str = "sigmoid",
        on_finish: Callable[[int], None] | None = None,
        **kwargs,
    ) -> None:
        """on_finish(1) is called when the learner reaches the last line (the course's tick)."""
        super().__init__(**kwargs)
        self.on_finish = on_finish
        self.seed = seed
        self.activation = activation
        self.step = 0
        self.net = handprop.random_net(seed, activation)
        self.autograd: dict[str, list[float]] | None = None
        self.first_autograd: float | None = None
        self.error = ""
        self.oracle = OracleClient()

    def compose(self) -> ComposeResult:
        yield Static(id="hp-title")
        with Horizontal(id="hp-body"):
            forward = Static(id="hp-forward", classes="panel")
            forward.border_title = "Forward pass"
            yield forward
            with VerticalScroll(id="hp-backward", classes="panel") as box:
                box.border_title = "Backward pass, line by line"
                yield Static(id="hp-lines")
        yield FittingFooter()

    def on_mount(self) -> None:
        self._ask_autograd()
        self.redraw()

    def on_unmount(self) -> None:
        self.oracle.close()

    @property
    def ready(self) -> bool:
        """True once autograd's values for the current weights have arrived."""
        return self.autograd is not None and self.first_autograd is not None

    def action_next(self) -> None:
        self._go(min(LAST_STEP, self.step + 1))

    def action_show_all(self) -> None:
        self._go(LAST_STEP)

    def action_previous(self) -> None:
        self._go(max(0, self.step - 1))

    def _go(self, step: int) -> None:
        self.step = step
        if step == LAST_STEP and self.on_finish is not None:
            self.on_finish(1)
        self.redraw()

    def action_new_weights(self) -> None:
        self.seed += 1
        self._new_net()

    def action_switch_activation(self) -> None:
        self.activation = "tanh" if self.activation == "sigmoid" else "sigmoid"
        self._new_net()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()

    def _new_net(self) -> None:
        self.net = handprop.random_net(self.seed, self.activation)
        self.autograd = None
        self._ask_autograd()
        self.redraw()

    def _ask_autograd(self) -> None:
        net = self.net
        self.run_worker(lambda: self._fetch(net), thread=True, group="autograd")

    def _fetch(self, net: handprop.Net) -> None:
        """In a thread: one question to the worker, one callback to the UI thread."""
        try:
            answer = self.oracle.ask({"net": net.to_dict(), "first": handprop.FIRST_X})
        except OracleError as exc:
            self.app.call_from_thread(self._failed, str(exc))
        else:
            self.app.call_from_thread(self._arrived, net, answer)

    def _arrived(self, net: handprop.Net, answer: dict) -> None:
        if net == self.net:  # not an answer for weights already replaced
            self.autograd = answer["grads"]
            self.first_autograd = answer["first"]
            self.redraw()

    def _failed(self, message: str) -> None:
        self.error = message
        self.redraw()

    def redraw(self) -> None:
        count, _ = shown_at(self.step)
        where = "the notes' example" if count == 0 else f"line {count}/{LINES}"
        title = Text.assemble(
            ("Exercise 1 · ", "bold"),
            "backprop by hand   ",
            (where, "bold"),
            f" · {self.activation} · weights #{self.seed}",
            ("   autograd: loading torch…" if not self.ready and not self.error else "", "dim"),
        )
        self.query_one("#hp-title", Static).update(title)
        self.query_one("#hp-forward", Static).update(forward_text(self.net))
        lines = self.query_one("#hp-lines", Static)
        if count == 0:
            lines.update(first_page(self.first_autograd))
        else:
            lines.update(backward_text(self.net, self.step, self.autograd, self.error))
        box = self.query_one("#hp-backward", VerticalScroll)
        self.call_after_refresh(box.scroll_end, animate=False)


def _vector(values: tuple[float, ...] | list[float]) -> str:
    return "[" + " ".join(f"{v:+.4f}" for v in values) + "]"


def _shaped(values: tuple[float, ...] | list[float], shape: tuple[int, ...]) -> str:
    """A matrix one row a line (the rows after the first indented under it), else a vector."""
    if len(shape) != 2:
        return _vector(values)
    width = shape[1]
    rows = [_vector(values[r * width : (r + 1) * width]) for r in range(shape[0])]
    return ("\n" + INDENT).join(rows)


def forward_text(net: handprop.Net) -> Text:
    f = handprop.forward(net)
    name = "σ" if net.activation == "sigmoid" else "tanh"
    text = Text()
    rows = [
        ("x", _vector(net.x)),
        ("t", f"{net.t:+.4f}  (the target)"),
        ("W1", _vector(net.W1[0])),
        *(("", _vector(row)) for row in net.W1[1:]),
        ("b1", _vector(net.b1)),
        ("W2", _vector(net.W2)),
        ("b2", f"{net.b2:+.4f}"),
    ]
    for name_, value in rows:
        text.append(f"{name_:<3}", "bold")
        text.append(f"= {value}\n" if name_ else f"  {value}\n")
    text.append("\n")
    steps = [
        ("z1 = W1 x + b1", _vector(f.z1)),
        (f"h  = {name}(z1)", _vector(f.h)),
        ("y  = W2 h + b2", f"{f.y:+.4f}"),
        ("L  = (y − t)²", f"{f.loss:.4f}"),
    ]
    for formula, value in steps:
        text.append(f"{formula}\n", "bold")
        text.append(f"   = {value}\n")
    text.append("\nOne example, squared error; the\nbackward reuses z1, h and y.", "dim")
    return text


def first_page(autograd: float | None) -> Text:
    y, by_hand = handprop.first_example()
    x = handprop.FIRST_X
    text = Text()
    text.append("The notes' first autograd example\n\n", "bold")
    text.append("  x = torch.tensor(2.0, requires_grad=True)\n")
    text.append("  y = x ** 2 + 3 * x\n")
    text.append("  y.backward()\n\n")
    text.append(f"  y           = {x:g}² + 3·{x:g} = {y:g}\n")
    text.append("  by hand:  dy/dx = 2x + 3 = ", "bold")
    text.append(f"{by_hand:g}\n")
    text.append("  autograd: x.grad          = ", "bold")
    text.append(f"{autograd!r}\n" if autograd is not None else "(asking torch…)\n")
    text.append(
        "\nAutograd recorded y's graph (a square and a multiply-add) while computing it, and "
        "walked it backward multiplying local derivatives: the chain rule.\n\n"
    )
    text.append(
        "Press space to do the same for a two-layer MLP: each line shows its formula first; "
        "work the value out, then space again shows it.",
        "italic",
    )
    return text


def _heading(text: Text, index: int, line: handprop.Line, current: bool) -> None:
    """The line's label and formula; a formula with steps gets one step a row."""
    first, *rest = line.formula.split(" = ")
    head = f"{index}. {line.label} = "
    text.append(head + first, "bold reverse" if current else "bold")
    for part in rest:
        text.append("\n" + " " * (len(head) - 2) + "= " + part, "bold")
    text.append("\n")


def _values(text: Text, line: handprop.Line, autograd: dict | None, error: str) -> None:
    text.append(f"   by hand   {_shaped(line.value, line.shape)}\n")
    if autograd is None:
        text.append("   autograd  " + (error or "(asking torch…)") + "\n", "dim")
        return
    theirs = autograd[line.key]
    diff = handprop.difference(line.value, tuple(theirs))
    text.append(f"   autograd  {_shaped(theirs, line.shape)}\n")
    text.append("   difference ")
    text.append(f"{diff:.1e}\n", "green" if diff < 1e-9 else "red")


def backward_text(
    net: handprop.Net, step: int, autograd: dict[str, list[float]] | None, error: str
) -> Text:
    """The backward lines on screen at this step; the last one's values hidden until revealed."""
    count, revealed = shown_at(step)
    text = Text()
    for index, line in enumerate(handprop.backward_lines(net)[:count], start=1):
        current = index == count
        _heading(text, index, line, current)
        if current and not revealed:
            text.append("   by hand   ", "bold")
            text.append("?", "bold reverse")
            text.append("  work it out, then space\n")
        else:
            _values(text, line, autograd, error)
        text.append("\n")
    if step == LAST_STEP:
        text.append(
            "Every gradient is an upstream gradient times something local the forward "
            "cached (h, x, the activation's slope). Press r for new weights, a for "
            "the other activation.",
            "italic",
        )
    return text
