"""The lessons' answers: sentences built from the digests of the runs the learner watched."""

from __future__ import annotations

from gradtui.learn.digest import RunDigest


def _e(value: float | None) -> str:
    return "not measured yet" if value is None else f"{value:.1e}"


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


def answer_sigmoid_relu(runs: list[RunDigest]) -> str:
    sigmoid, relu = runs
    return (
        f"In your run, {_ratio_words(sigmoid)}; {_ratio_words(relu)}. Each sigmoid link "
        "multiplies the gradient by at most 0.25, twenty of them compound; ReLU's slope is 1 "
        "where a unit is on, and Kaiming init keeps the size steady."
    )


def answer_detach(runs: list[RunDigest]) -> str:
    cut, whole = runs
    missing = ", ".join(cut.missing) or "none"
    return (
        f"With the .detach(), {len(cut.missing)} layers got no gradient at all ({missing}); "
        f"{_loss_words(cut)}. Without it, "
        + (f"{len(whole.missing)} layers missed one" if whole.missing else "every layer got one")
        + f" and {_loss_words(whole)}. Everything before the cut stops learning, silently."
    )


def answer_residual(runs: list[RunDigest]) -> str:
    plain, skip = runs
    return (
        f"{_ratio_words(plain)}; with the skips, {_ratio_words(skip)}. The skip adds an "
        "identity term to each link's factor (1 + something), which cannot shrink to zero."
    )


def answer_clipping(runs: list[RunDigest]) -> str:
    wild, clipped = runs
    return (
        f"Without clipping, {_grad_words(wild)}, and {_loss_words(wild)}. With the norm "
        f"clipped at 1.0, {_grad_words(clipped)} (before clipping; each update used at most "
        f"1.0), and {_loss_words(clipped)}."
    )


def answer_softmax(runs: list[RunDigest]) -> str:
    naive, fused = runs
    return (
        f"log(softmax(x)): {_loss_words(naive)}. Fused cross_entropy on the same data: "
        f"{_loss_words(fused)}. Softmax rounded a probability to 0, log(0) = -inf, and its "
        "gradient 1/p turned everything after it into nan; log_softmax works with x - "
        "logsumexp(x) and never takes log(0)."
    )


def answer_lr_vs_vanishing(runs: list[RunDigest]) -> str:
    vanishing, slow = runs
    return (
        f"Both losses stall. In {vanishing.name} the gradient is the problem: "
        f"{_ratio_words(vanishing)}. In {slow.name} it is not: {_ratio_words(slow)}, but the "
        f"median update |ΔW|/|W| was {_e(slow.update_ratio)} (about 1e-3 is healthy; "
        f"{vanishing.name}'s was {_e(vanishing.update_ratio)})."
    )


def answer_inplace(runs: list[RunDigest]) -> str:
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


def answer_init(runs: list[RunDigest]) -> str:
    small, kaiming = runs
    return (
        f"With U(-0.05, 0.05), the gradient at the first block's output was "
        f"{_e(small.chain_ratio)} of the one at the last block's; with Kaiming "
        f"{_e(kaiming.chain_ratio)}. Kaiming picks the weight variance (2/fan_in for ReLU) so "
        "each layer keeps the variance of what passes through it, forward and backward."
    )


def answer_sweep(runs: list[RunDigest]) -> str:
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
