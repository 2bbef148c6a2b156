"""The course: the notes' ten practice items as lessons, in order (no torch).

Each lesson asks its question in our words, names the runs of its experiment, the panel to
look at, and answers from the runs the learner watched (``RunDigest``), never from numbers
written in advance. Items 6 to 10 end with a multiple-choice self-check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gradtui.learn.digest import RunDigest
from gradtui.learn.variants import with_lr, without_detach
from gradtui.scenario.spec import ScenarioSpec

Resolve = Callable[[str], ScenarioSpec]
SWEEP_SCENARIO = "exploding_no_clip"
SWEEP_LRS = (0.01, 0.05, 0.25)


@dataclass(frozen=True)
class Quiz:
    question: str
    choices: tuple[str, ...]
    correct: int  # index into choices
    reason: str


@dataclass(frozen=True)
class Lesson:
    number: int
    title: str
    question: str
    runs: Callable[[Resolve], list[ScenarioSpec]]  # empty: the hand-backprop screen
    panel: str  # the panel to look at: layers, loss, diagnoses (a panel both screens have)
    look: str  # what to look at there
    answer: Callable[[list[RunDigest]], str]
    quiz: Quiz | None = None


def _e(value: float | None) -> str:
    return "not measured yet" if value is None else f"{value:.1e}"


def _names(*names: str) -> Callable[[Resolve], list[ScenarioSpec]]:
    return lambda resolve: [resolve(name) for name in names]


def _ratio_words(digest: RunDigest) -> str:
    return (
        f"{digest.name}'s first layer's gradient was {_e(digest.layer_ratio)} of its last "
        f"layer's (|∂L/∂W| {_e(digest.first_layer_grad)} against {_e(digest.last_layer_grad)}, "
        f"step {digest.steps})"
    )


def _grad_words(digest: RunDigest) -> str:
    words = f"the largest total gradient norm was {_e(digest.max_finite_grad_norm)}"
    if digest.first_nonfinite_step is not None:
        return words + f" before it overflowed at step {digest.first_nonfinite_step}"
    return words


def _loss_words(digest: RunDigest) -> str:
    if digest.first_nonfinite_step is not None:
        return f"{digest.name}'s loss went non-finite at step {digest.first_nonfinite_step}"
    return f"{digest.name}'s loss went from {_e(digest.first_loss)} to {_e(digest.final_loss)}"


def _answer_sigmoid_relu(runs: list[RunDigest]) -> str:
    sigmoid, relu = runs
    return (
        f"In your run, {_ratio_words(sigmoid)}; {_ratio_words(relu)}. Each sigmoid link "
        "multiplies the gradient by at most 0.25, twenty of them compound; ReLU's slope is 1 "
        "where a unit is on, and Kaiming init keeps the size steady."
    )


def _answer_detach(runs: list[RunDigest]) -> str:
    cut, whole = runs
    missing = ", ".join(cut.missing) or "none"
    return (
        f"With the .detach(), {len(cut.missing)} layers got no gradient at all ({missing}); "
        f"{_loss_words(cut)}. Without it, "
        + (f"{len(whole.missing)} layers missed one" if whole.missing else "every layer got one")
        + f" and {_loss_words(whole)}. Everything before the cut stops learning, silently."
    )


def _answer_residual(runs: list[RunDigest]) -> str:
    plain, skip = runs
    return (
        f"{_ratio_words(plain)}; with the skips, {_ratio_words(skip)}. The skip adds an "
        "identity term to each link's factor (1 + something), which cannot shrink to zero."
    )


def _answer_clipping(runs: list[RunDigest]) -> str:
    wild, clipped = runs
    return (
        f"Without clipping, {_grad_words(wild)}, and {_loss_words(wild)}. With the norm "
        f"clipped at 1.0, {_grad_words(clipped)} (before clipping; each update used at most "
        f"1.0), and {_loss_words(clipped)}."
    )


def _answer_softmax(runs: list[RunDigest]) -> str:
    naive, fused = runs
    return (
        f"log(softmax(x)): {_loss_words(naive)}. Fused cross_entropy on the same data: "
        f"{_loss_words(fused)}. Softmax rounded a probability to 0, log(0) = -inf, and its "
        "gradient 1/p turned everything after it into nan; log_softmax works with x - "
        "logsumexp(x) and never takes log(0)."
    )


def _answer_lr_vs_vanishing(runs: list[RunDigest]) -> str:
    vanishing, slow = runs
    return (
        f"Both losses stall. In {vanishing.name} the gradient is the problem: "
        f"{_ratio_words(vanishing)}. In {slow.name} it is not: {_ratio_words(slow)}, but the "
        f"median update |ΔW|/|W| was {_e(slow.update_ratio)} (about 1e-3 is healthy; "
        f"{vanishing.name}'s was {_e(vanishing.update_ratio)})."
    )


def _answer_inplace(runs: list[RunDigest]) -> str:
    (run,) = runs
    if run.failure is None:
        return "The run has not failed yet: watch until it stops."
    trace = (
        f" The tensor was made at: {run.failure.forward_trace.strip().splitlines()[-1]}."
        if run.failure.forward_trace.strip()
        else ""
    )
    message = run.failure.message.splitlines()[0][:200].rstrip(".")
    return (
        f"Step {run.failure.step} raised {run.failure.error_type}: {message}.{trace} "
        "Sigmoid's backward uses its own "
        "output y (σ' = y(1 - y)); changing y in place changed what backward reads, and "
        "autograd's version counter caught it."
    )


def _answer_init(runs: list[RunDigest]) -> str:
    small, kaiming = runs
    return (
        f"With U(-0.05, 0.05), the gradient at the first block's output was "
        f"{_e(small.chain_ratio)} of the one at the last block's; with Kaiming "
        f"{_e(kaiming.chain_ratio)}. Kaiming picks the weight variance (2/fan_in for ReLU) so "
        "each layer keeps the variance of what passes through it, forward and backward."
    )


def _answer_sweep(runs: list[RunDigest]) -> str:
    rows = [
        f"lr {run.lr:g}: {_grad_words(run)}"
        + ("" if run.first_nonfinite_step is not None else f", final loss {_e(run.final_loss)}")
        for run in runs
        if run.lr is not None
    ]
    return (
        "; ".join(rows) + ". A larger step makes each update overshoot more; past a threshold "
        "an overshoot raises the loss and the gradient, so the next step is larger still."
    )


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        1,
        "A two-layer MLP's backward pass by hand",
        "Can you compute every gradient of a small network yourself, and match autograd?",
        lambda resolve: [],
        "",
        "Step through the seven chain-rule lines; each one's value by hand beside autograd's.",
        lambda runs: "",
    ),
    Lesson(
        2,
        "Sigmoid against ReLU, 20 layers deep",
        "How large is the first layer's gradient compared with the last's, with each?",
        _names("sigmoid_deep", "relu_deep"),
        "layers",
        "The Layers panel: the numbers down each column, input side at the top.",
        _answer_sigmoid_relu,
    ),
    Lesson(
        3,
        "Break the graph with .detach()",
        "What stops learning when one block's input is detached?",
        lambda resolve: [resolve("broken_graph"), without_detach(resolve("broken_graph"))],
        "layers",
        "The Layers panel: which rows say missing, on the left and not on the right.",
        _answer_detach,
    ),
    Lesson(
        4,
        "A residual skip in a deep stack",
        "What does an identity skip do to the gradient reaching the first layers?",
        _names("sigmoid_deep", "residual_deep"),
        "layers",
        "The Layers panel: the first rows' gradients, without and with the skips.",
        _answer_residual,
    ),
    Lesson(
        5,
        "Clip a diverging run",
        "What does clipping the gradient norm change in a run that diverges?",
        _names("exploding_no_clip", "exploding_clipped"),
        "loss",
        "The Loss panels: one overflows, the other keeps falling.",
        _answer_clipping,
    ),
    Lesson(
        6,
        "Softmax and cross-entropy: together or apart",
        "Why is the fused cross-entropy stable where log(softmax(x)) is not?",
        _names("log_softmax_nan", "stable_cross_entropy"),
        "loss",
        "The Loss panels, and the red line where one became nan.",
        _answer_softmax,
        Quiz(
            "Why does log(softmax(x)) give nan where cross_entropy(x) does not?",
            (
                "softmax is slower to compute",
                "softmax rounds a tiny probability to 0, and log(0) = -inf",
                "cross_entropy uses a smaller learning rate",
            ),
            1,
            "In float32, exp of a very negative logit minus the max underflows to exactly 0; "
            "the fused op computes log-probabilities as x - logsumexp(x) and never forms p.",
        ),
    ),
    Lesson(
        7,
        "Vanishing gradients, or a learning rate too low?",
        "Both stall the loss. How do you tell them apart?",
        _names("sigmoid_deep", "lr_too_low"),
        "layers",
        "The Layers panel: are the early layers' gradients tiny, or all healthy?",
        _answer_lr_vs_vanishing,
        Quiz(
            "A loss stalls. Which reading says 'learning rate too low', not 'vanishing'?",
            (
                "the first layer's gradient is 1e-12 of the last's",
                "every layer's gradient is fine, but |ΔW|/|W| is about 1e-9",
                "the loss is nan",
            ),
            1,
            "Vanishing is a gradient problem (early layers' gradients tiny); a learning rate "
            "too low has healthy gradients and updates far smaller than about 1e-3 of W.",
        ),
    ),
    Lesson(
        8,
        "An in-place change on a graph tensor",
        "What can `out += 0.01` break, and how does autograd notice?",
        _names("inplace_op"),
        "diagnoses",
        "The Diagnoses panel: the error, and the forward line behind it.",
        _answer_inplace,
        Quiz(
            "Why did backward fail after `out += 0.01` on sigmoid's output?",
            (
                "adding 0.01 makes the loss too large",
                "sigmoid's backward needs its output as it was, and it was changed in place",
                "in-place operations are not differentiable at all",
            ),
            1,
            "Autograd saves tensors for backward and counts their versions; an in-place change "
            "after saving bumps the version, and backward refuses to use a changed tensor.",
        ),
    ),
    Lesson(
        9,
        "Kaiming against small uniform initialisation",
        "What does Kaiming init preserve that U(-0.05, 0.05) does not?",
        _names("init_small_uniform", "init_kaiming"),
        "layers",
        "The Layers panel: how the gradient's size changes from the last layer to the first.",
        _answer_init,
        Quiz(
            "What does Kaiming initialisation keep steady from layer to layer?",
            (
                "the variance of the activations (and of the gradients going back)",
                "the mean of the weights",
                "the learning rate",
            ),
            0,
            "With Var(W) = 2/fan_in, a ReLU layer passes on the variance it receives; smaller "
            "weights shrink it by a constant factor per layer, which compounds with depth.",
        ),
    ),
    Lesson(
        10,
        "Explosion and the learning rate: a sweep",
        "At which learning rate does this run stop training and blow up?",
        lambda resolve: [with_lr(resolve(SWEEP_SCENARIO), lr) for lr in SWEEP_LRS],
        "loss",
        "The Loss panels, side by side from the smallest learning rate to the largest.",
        _answer_sweep,
        Quiz(
            "How are gradient explosion and the learning rate related?",
            (
                "they are unrelated",
                "past a threshold each step overshoots, the loss and gradient grow, and the "
                "next step is larger still",
                "a larger learning rate always trains faster",
            ),
            1,
            "The update is lr × gradient: past the curvature's limit it overshoots the "
            "minimum, which raises the gradient, which raises the next update: a feedback loop.",
        ),
    ),
)
