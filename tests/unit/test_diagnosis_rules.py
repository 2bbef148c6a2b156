"""Rules on parameters, activations, the loss and failures, on hand-made streams of events:
exact numbers, exact steps, no torch."""

import pytest

from gradtui.events import RunFailed
from tests.unit.diagnosis_fakes import feed, healthy, heavy, started, wobble

# -- missing, frozen, accumulation ------------------------------------------------------------


def missing_step(run, step, cut=2):
    n = len(run.layers)
    return healthy(
        run,
        step,
        grad_norm=tuple(None if i < cut else 0.5 for i in range(n)),
        update_ratio=tuple(0.0 if i < cut else 1e-3 for i in range(n)),
        block_grad_norm=tuple(None if j < cut else 0.2 for j in range(len(run.blocks))),
    )


def test_missing_gradients_names_exactly_the_layers_before_the_cut():
    run = started(depth=5)
    diagnoser, fired = feed([run, *[missing_step(run, s) for s in range(6)]])
    ((i, d),) = fired
    assert (i, d.kind, d.severity, d.step) == (3, "missing_gradients", "error", 0)
    assert d.layers == ("blocks.0.linear", "blocks.1.linear")
    assert "cut at the input of blocks.2" in d.message
    assert diagnoser.layer_status()[:3] == ("missing", "missing", "ok")
    # and nothing else: no frozen, no tiny update ratio for layers that are already explained
    assert [x.kind for x in diagnoser.diagnoses()] == ["missing_gradients"]


def test_missing_needs_three_steps_and_ignores_frozen_by_design():
    run = started(depth=5)
    _, fired = feed([run, *[missing_step(run, s) for s in range(2)], healthy(run, 2)])
    assert fired == []
    frozen = started(depth=5, frozen=(0, 1))
    _, fired = feed([frozen, *[missing_step(frozen, s) for s in range(10)]])
    assert fired == []


def test_frozen_weights_with_a_real_gradient():
    run = started(depth=4)
    ratios = (1e-3, 1e-3, 0.0, 1e-3, 1e-3)
    steps = [healthy(run, s, update_ratio=ratios) for s in range(5)]
    diagnoser, fired = feed([run, *steps])
    ((i, d),) = fired
    assert (i, d.kind, d.severity, d.step) == (3, "frozen_parameters", "warning", 0)
    assert d.layers == ("blocks.2.linear",)
    assert "unchanged for 3 steps" in d.message
    assert diagnoser.layer_status()[2] == "frozen"


def test_an_update_too_small_for_float32_is_not_frozen_but_stalled():
    run = started(depth=4)
    norms = (0.5, 0.5, 1e-9, 0.5, 0.5)  # lr_eff * 1e-9 / 10 is far below float32's resolution
    ratios = (1e-3, 1e-3, 0.0, 1e-3, 1e-3)
    steps = [healthy(run, s, grad_norm=norms, update_ratio=ratios) for s in range(10)]
    _, fired = feed([run, *steps])
    # the optimizer did its job (nothing is frozen), but the layer is not learning either
    ((_, d),) = fired
    assert (d.kind, d.severity, d.layers) == ("update_ratio", "error", ("blocks.2.linear",))


def test_an_all_zero_gradient_is_frozen_unless_the_loss_converged():
    run = started(depth=4)
    norms = (0.5, 0.5, 0.0, 0.5, 0.5)
    ratios = (1e-3, 1e-3, 0.0, 1e-3, 1e-3)
    steps = [healthy(run, s, grad_norm=norms, update_ratio=ratios) for s in range(5)]
    _, fired = feed([run, *steps])
    ((_, d),) = fired
    assert d.kind == "frozen_parameters" and "exactly zero" in d.message
    start = [healthy(run, s, loss=1.0) for s in range(10)]
    settled = [healthy(run, s, loss=1e-6) for s in range(10, 20)]
    late = [healthy(run, s, loss=1e-6, grad_norm=norms, update_ratio=ratios) for s in range(20, 40)]
    _diagnoser, fired = feed([run, *start, *settled, *late])
    assert fired == []  # the loss had converged: a zero gradient is expected then


def test_gradient_accumulation_is_seen_directly():
    run = started(depth=3)
    steps = [healthy(run, s, carried_grad_norm=0.3 if s else 0.0) for s in range(6)]
    _diagnoser, fired = feed([run, *steps])
    ((i, d),) = fired
    assert (i, d.kind, d.severity, d.step) == (4, "gradient_accumulation", "error", 1)
    assert "zero_grad()" in d.fix


def test_deliberate_accumulation_every_other_step_and_frozen_layers_do_not_fire():
    run = started(depth=3)
    every_other = [healthy(run, s, carried_grad_norm=0.3 * (s % 2)) for s in range(20)]
    _, fired = feed([run, *every_other])
    assert fired == []
    ratios = (1e-3, 0.0, 1e-3, 1e-3)  # blocks.1 is left out of the optimizer ...
    held = [healthy(run, s, update_ratio=ratios, carried_grad_norm=0.5) for s in range(10)]
    diagnoser, _ = feed([run, *held])
    assert [d.kind for d in diagnoser.diagnoses()] == ["frozen_parameters"]  # ... only that


# -- activations ----------------------------------------------------------------------------


def activity_run(run, dead=None, saturated=None, steps=40):
    return [
        heavy(run, s, dead=dead, saturated=saturated) if s % 10 == 0 else healthy(run, s)
        for s in range(steps)
    ]


def test_dead_units_on_three_checks():
    run = started(depth=4)
    dead = (0.7, 0.1, 0.1, 0.1, None)
    diagnoser, fired = feed([run, *activity_run(run, dead=dead)])
    ((i, d),) = fired
    assert (i, d.kind, d.severity, d.step) == (21, "dead_units", "warning", 0)
    assert d.layers == ("blocks.0.linear",) and "blocks.0 70%" in d.message
    assert diagnoser.layer_status()[0] == "dead"  # held between heavy checks


def test_a_fully_dead_layer_is_an_error():
    run = started(depth=4)
    diagnoser, _ = feed([run, *activity_run(run, dead=(0.1, 1.0, 0.1, 0.1, None))])
    (d,) = diagnoser.diagnoses()
    assert (d.kind, d.severity) == ("dead_units", "error")
    assert "every unit is dead" in d.message


@pytest.mark.parametrize(
    ("share", "batch"),
    [(0.5, 64), (0.45, 64), (0.7, 2)],  # at the threshold; under it; a tiny batch
)
def test_dead_share_under_the_threshold_does_not_fire(share, batch):
    run = started(depth=4, batch=batch)
    _, fired = feed([run, *activity_run(run, dead=(share, 0.1, 0.1, 0.1, None))])
    assert fired == []


def test_saturated_activation():
    run = started(depth=4, activation="tanh")
    diagnoser, _ = feed([run, *activity_run(run, saturated=(0.8, 0.9, 0.2, 0.2, None))])
    (d,) = diagnoser.diagnoses()
    assert (d.kind, d.severity) == ("saturated_activation", "warning")
    assert d.layers == ("blocks.0.linear", "blocks.1.linear")
    assert "tanh" in d.message and "blocks.1 90%" in d.message


# -- loss -----------------------------------------------------------------------------------


def losses(run, values):
    return [healthy(run, s, loss=v) for s, v in enumerate(values)]


def test_a_flat_loss_warns_after_two_windows():
    run = started(depth=3, total_steps=200)
    flat = [1 + 0.05 * wobble(s) for s in range(200)]
    _, fired = feed([run, *losses(run, flat)])
    ((i, d),) = fired
    assert (i, d.kind, d.severity, d.step) == (150, "loss_not_decreasing", "warning", 50)
    assert "not improved since the first 50 steps" in d.message


def stuck_steps(run, **changes):
    return [healthy(run, s, loss=1 + 0.05 * wobble(s), **changes) for s in range(run.total_steps)]


def test_a_flat_loss_with_healthy_gradients_and_tiny_steps_blames_the_learning_rate():
    run = started(depth=3, total_steps=200)
    _, fired = feed([run, *stuck_steps(run, update_ratio=(3e-7,) * 4)])
    (stuck,) = [d for _, d in fired if d.kind == "loss_not_decreasing"]
    assert "median |dW|/|W| of 3.0e-07" in stuck.message
    assert "learning rate is far too low" in stuck.message
    assert stuck.fix.startswith("Raise the learning rate")


@pytest.mark.parametrize(
    "changes",
    [
        {"update_ratio": (1e-3,) * 4},  # the steps are a healthy size: not the learning rate
        {"update_ratio": (3e-7,) * 4, "block_grad_norm": (1e-7, 1e-5, 1e-3, 0.2)},  # vanishing
    ],
)
def test_a_flat_loss_does_not_blame_the_learning_rate_when_something_else_explains_it(changes):
    run = started(depth=3, total_steps=200)
    diagnoser, _ = feed([run, *stuck_steps(run, **changes)])
    found = {d.kind: d for d in diagnoser.diagnoses()}
    assert "loss_not_decreasing" in found
    assert "learning rate is far too low" not in found["loss_not_decreasing"].message
    if "block_grad_norm" in changes:
        assert "vanishing_gradients" in found


def test_a_plateau_after_progress_is_info_and_a_rise_is_a_warning():
    run = started(depth=3, total_steps=400)
    plateau = [max(0.3, 1 - s / 100) + 0.02 * wobble(s) for s in range(400)]
    diagnoser, _ = feed([run, *losses(run, plateau)])
    assert [(d.kind, d.severity) for d in diagnoser.diagnoses()] == [
        ("loss_not_decreasing", "info")
    ]
    rise = [abs(1 - s / 100) + 0.2 + 0.02 * wobble(s) for s in range(400)]
    diagnoser, _ = feed([run, *losses(run, rise)])
    (d,) = diagnoser.diagnoses()
    assert d.severity == "warning" and "rose" in d.message


def test_a_falling_or_converged_loss_is_fine():
    run = started(depth=3, total_steps=300)
    converged = [max(1e-6, 0.5**s) for s in range(300)]
    for values in ([healthy(run, s).loss for s in range(300)], converged):
        _diagnoser, fired = feed([run, *losses(run, values)])
        assert [d.kind for _, d in fired if d.kind == "loss_not_decreasing"] == []


# -- update ratio ----------------------------------------------------------------------------


def test_update_ratio_bands():
    # issue 10: the band judges the run's typical layer, two decades either side of what
    # healthy runs do, on three checks in a row; one fast layer (a head) is not news
    run = started(depth=3)
    slow = [healthy(run, s, update_ratio=(1e-6,) * 4) for s in range(40)]
    diagnoser, fired = feed([run, *slow])
    ((i, d),) = fired
    assert (i, d.kind, d.severity, d.step) == (30, "update_ratio", "info", 29)
    assert "learning rate is too low" in d.message
    fast = [healthy(run, s, update_ratio=(0.5, 1e-3, 1e-3, 1e-3)) for s in range(40)]
    diagnoser, _ = feed([run, *fast])
    assert diagnoser.diagnoses() == []
    faster = [healthy(run, s, update_ratio=(0.5, 0.3, 0.3, 1e-3)) for s in range(40)]
    diagnoser, _ = feed([run, *faster])
    (d,) = diagnoser.diagnoses()
    assert (d.severity, d.layers) == (
        "info",
        ("blocks.0.linear", "blocks.1.linear", "blocks.2.linear"),
    )
    assert "too high" in d.message
    # high first, then low: the opposite fix is never given in the same run
    turn = faster + [healthy(run, s, update_ratio=(1e-6,) * 4) for s in range(40, 100)]
    diagnoser, _ = feed([run, *turn])
    assert [d.kind for d in diagnoser.diagnoses()] == ["update_ratio"]


def test_update_ratio_errors_at_the_smd_bounds():
    run = started(depth=3)
    steps = [healthy(run, s) for s in range(5)]
    steps += [healthy(run, s, update_ratio=(20.0, 1e-3, 1e-3, 1e-3)) for s in (5, 6)]
    diagnoser, fired = feed([run, *steps])
    # one step above the bound is a divergence, dated to it (issue 10: it wanted two in a row)
    ((i, d),) = [(i, d) for i, d in fired if d.severity != "info"]
    assert (i, d.kind, d.severity, d.step) == (6, "divergence", "error", 5)
    assert "by 20x their own size" in d.message and "blocks.0.linear" in d.message
    stalled = [healthy(run, s, update_ratio=(1e-10,) * 4) for s in range(3)]
    diagnoser, _ = feed([run, *stalled])
    (d,) = diagnoser.diagnoses()
    assert (d.kind, d.severity) == ("update_ratio", "error")


# -- autograd errors -------------------------------------------------------------------------

INPLACE = (
    "one of the variables needed for gradient computation has been modified by an inplace "
    "operation: [torch.FloatTensor [32, 32]], which is output 0 of SigmoidBackward0, is at "
    "version 1; expected version 0 instead. Hint: enable anomaly detection to find the "
    "operation that failed to compute its gradient, with "
    "torch.autograd.set_detect_anomaly(True)."
)


def test_autograd_error_explains_the_inplace_op_and_shows_the_forward_line():
    run = started(depth=3)
    failed = RunFailed(3, "RuntimeError", INPLACE, "models.py:70 in _activate: out += 0.01")
    _diagnoser, fired = feed([run, healthy(run, 0), failed])
    ((_, d),) = fired
    assert (d.kind, d.severity, d.step) == ("autograd_error", "error", 3)
    assert "SigmoidBackward0 (a 32x32 tensor)" in d.message
    assert "changed in place" in d.message and "from 0 to 1" in d.message
    assert "models.py:70 in _activate: out += 0.01" in d.message
    assert "version counter" in d.why and "out = out + 0.01" in d.fix


def test_other_failures_are_reported_plainly():
    run = started(depth=3)
    text = "element 0 of tensors does not require grad and does not have a grad_fn"
    _, fired = feed([run, RunFailed(0, "RuntimeError", text)])
    assert "not connected" in fired[0][1].message
    _, fired = feed([run, RunFailed(2, "ValueError", "shapes do not match")])
    assert fired[0][1].message == "Step 2 raised ValueError: shapes do not match."
