"""The course: the notes' ten practice items as lessons, in order (no torch).

Each lesson asks its question in our words, names the runs of its experiment, the panel to
look at, and answers from the runs the learner watched (``RunDigest``), never from numbers
written in advance. Items 6 to 10 end with a multiple-choice self-check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gradtui.learn import answers
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


def _names(*names: str) -> Callable[[Resolve], list[ScenarioSpec]]:
    return lambda resolve: [resolve(name) for name in names]


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
        answers.answer_sigmoid_relu,
    ),
    Lesson(
        3,
        "Break the graph with .detach()",
        "What stops learning when one block's input is detached?",
        lambda resolve: [resolve("broken_graph"), without_detach(resolve("broken_graph"))],
        "layers",
        "The Layers panel: which rows say missing, on the left and not on the right.",
        answers.answer_detach,
    ),
    Lesson(
        4,
        "A residual skip in a deep stack",
        "What does an identity skip do to the gradient reaching the first layers?",
        _names("sigmoid_deep", "residual_deep"),
        "layers",
        "The Layers panel: the first rows' gradients, without and with the skips.",
        answers.answer_residual,
    ),
    Lesson(
        5,
        "Clip a diverging run",
        "What does clipping the gradient norm change in a run that diverges?",
        _names("exploding_no_clip", "exploding_clipped"),
        "loss",
        "The Loss panels: one overflows, the other keeps falling.",
        answers.answer_clipping,
    ),
    Lesson(
        6,
        "Softmax and cross-entropy: together or apart",
        "Why is the fused cross-entropy stable where log(softmax(x)) is not?",
        _names("log_softmax_nan", "stable_cross_entropy"),
        "loss",
        "The Loss panels, and the red line where one became nan.",
        answers.answer_softmax,
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
        answers.answer_lr_vs_vanishing,
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
        answers.answer_inplace,
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
        answers.answer_init,
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
        answers.answer_sweep,
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
