"""Each rule on hand-made streams of events: exact numbers, exact steps, no torch."""

import pytest
from diagnosis_fakes import chain, feed, healthy, heavy, kinds, serious, started, wobble

from gradtui.diagnosis import Diagnoser
from gradtui.diagnosis import thresholds as T
from gradtui.events import RunFailed

# -- healthy --------------------------------------------------------------------------------


def test_a_healthy_stream_gets_no_diagnosis_at_all():
    run = started(depth=6)
    dead = (0.1,) * 6 + (None,)
    events = [run] + [
        heavy(run, s, dead=dead) if s % 10 == 0 else healthy(run, s) for s in range(400)
    ]
    diagnoser, fired = feed(events)
    assert fired == []
    assert diagnoser.layer_status() == ("ok",) * 7
    assert all(link.gain_median == pytest.approx(1.0) for link in diagnoser.links()[1:])


# -- vanishing ------------------------------------------------------------------------------


def vanishing_steps(run, count, gain=0.1, **changes):
    return [healthy(run, s, block_grad_norm=chain(run, gain), **changes) for s in range(count)]


def test_vanishing_fires_on_the_third_consecutive_step_and_names_the_links():
    run = started(depth=6)
    diagnoser, fired = feed([run, *vanishing_steps(run, 5)])
    assert [(i, d.kind, d.severity) for i, d in fired] == [(3, "vanishing_gradients", "warning")]
    d = fired[0][1]
    assert d.step == 0
    # from the loss, block b keeps 0.1 ** (6 - b): under 1e-3 for blocks 0..2 only
    assert d.layers == ("blocks.0.linear", "blocks.1.linear", "blocks.2.linear")
    assert "1.0e-06" in d.message
    assert "Links 1-6 (blocks.1 to head) each shrink the gradient about 10x" in d.message
    assert "sigmoid" not in d.why and "ReLU" in d.why
    assert diagnoser.layer_status()[:4] == ("vanishing", "vanishing", "vanishing", "ok")


def test_vanishing_needs_consecutive_steps():
    run = started(depth=6)
    steps = [healthy(run, s, block_grad_norm=chain(run, 0.1 if s % 3 else 1.0)) for s in range(30)]
    _diagnoser, fired = feed([run, *steps])
    assert fired == []


def test_vanishing_becomes_an_error_once_the_first_layer_stops_moving():
    run = started(depth=6, activation="sigmoid")
    stalled = (0.0,) + (1e-3,) * 6
    events = [run, *vanishing_steps(run, 4), *vanishing_steps(run, 2, update_ratio=stalled)]
    diagnoser, fired = feed(events)
    assert len(fired) == 1  # updated in place, not fired again
    (d,) = diagnoser.diagnoses()
    assert (d.kind, d.severity, d.step) == ("vanishing_gradients", "error", 0)
    assert "no longer move" in d.message
    assert "0.25" in d.why  # the sigmoid's slope bound


def test_a_single_weak_link_is_named_alone():
    run = started(depth=6)
    gains = [1.0] * 7
    gains[3] = 1e-4  # link 3 alone cuts the gradient by four decades
    norms = [0.2] * 7
    for j in range(5, -1, -1):
        norms[j] = norms[j + 1] * gains[j + 1]
    steps = [healthy(run, s, block_grad_norm=tuple(norms)) for s in range(4)]
    _, fired = feed([run, *steps])
    (d,) = [d for _, d in fired]
    assert "Link 3 (blocks.3) shrinks the gradient about" in d.message
    assert "Links" not in d.message  # no other link is blamed
    assert d.layers == ("blocks.0.linear", "blocks.1.linear", "blocks.2.linear")


# -- exploding ------------------------------------------------------------------------------


def test_exploding_jump_thresholds():
    run = started(depth=4)
    calm = [healthy(run, s) for s in range(10)]
    total = calm[0].grad_norm_total

    def jump(step, factor, loud=(3, 4), **changes):
        norms = tuple(0.5 * factor if i in loud else 0.5 for i in range(5))
        return healthy(run, step, grad_norm_total=total * factor, grad_norm=norms, **changes)

    diagnoser, fired = feed([run, *calm, jump(10, 50)])
    assert fired == []  # 50x is a transient healthy runs show
    _, fired = feed([jump(11, 200)], diagnoser)
    ((_, d),) = fired
    assert (d.kind, d.severity, d.step) == ("exploding_gradients", "warning", 11)
    assert d.layers == ("blocks.3.linear", "head")
    assert "200x its median" in d.message
    assert diagnoser.layer_status() == ("ok", "ok", "ok", "exploding", "exploding")
    feed([jump(12, 1e5)], diagnoser)
    (d,) = diagnoser.diagnoses()
    assert (d.severity, d.step) == ("error", 11)
    assert "First flagged at step 11" in d.message


def test_a_clipped_jump_is_only_info():
    run = started(depth=4)
    calm = [healthy(run, s) for s in range(10)]
    spike = healthy(run, 10, grad_norm_total=500.0, grad_norm_clipped=1.0)
    _diagnoser, fired = feed([run, *calm, spike])
    ((_, d),) = fired
    assert (d.kind, d.severity) == ("exploding_gradients", "info")
    assert "Clipping cut it to 1" in d.message


def test_exploding_along_the_chain():
    run = started(depth=6)
    steps = [healthy(run, s, block_grad_norm=chain(run, 3.0)) for s in range(4)]
    _diagnoser, fired = feed([run, *steps])
    ((i, d),) = fired
    assert (i, d.kind, d.severity, d.step) == (3, "exploding_gradients", "warning", 0)
    assert "729x the gradient leaving the loss" in d.message
    assert "each grow the gradient about 3x" in d.message
    # from the loss, block b gets 3 ** (6 - b): over 70x for blocks 0..2
    assert d.layers == ("blocks.0.linear", "blocks.1.linear", "blocks.2.linear")


# -- non-finite -----------------------------------------------------------------------------


def nan_step(run, step, source, loss=float("nan")):
    n = len(run.layers)
    return healthy(
        run,
        step,
        loss=loss,
        grad_norm_total=float("nan"),
        grad_norm=(float("nan"),) * n,
        nonfinite=(7,) * n,
        nonfinite_source=source,
    )


def test_nonfinite_in_the_loss_names_the_loss_once():
    run = started(depth=3)
    events = [run, healthy(run, 0), nan_step(run, 1, "loss", float("inf"))]
    events += [nan_step(run, s, "blocks.0.linear") for s in range(2, 6)]
    diagnoser, fired = feed(events)
    ((_, d),) = fired
    assert (d.kind, d.severity, d.step, d.layers) == ("nonfinite", "error", 1, ())
    assert "loss is inf" in d.message and "loss computation itself" in d.message
    assert "28 non-finite gradient entries" in d.message
    assert "log_softmax" in d.fix
    assert diagnoser.layer_status() == ("nonfinite",) * 4


def test_nonfinite_forward_module_is_named():
    run = started(depth=3)
    _, fired = feed([run, healthy(run, 0), nan_step(run, 1, "blocks.2.linear")])
    ((_, d),) = fired
    assert d.layers == ("blocks.2.linear",)
    assert "first module whose output went non-finite" in d.message


def test_nonfinite_in_backward_names_the_block():
    run = started(depth=3)
    bad = healthy(
        run,
        4,
        grad_norm_total=float("inf"),
        grad_norm=(float("inf"), float("inf"), 0.5, 0.5),
        nonfinite=(3, 2, 0, 0),
        nonfinite_source="blocks.2",
    )
    _, fired = feed([run, healthy(run, 0), bad])
    ((_, d),) = fired
    assert d.step == 4 and d.layers == ("blocks.2.linear",)
    assert "backward pass produced it at blocks.2" in d.message
    assert "blocks.0.linear and blocks.1.linear" in d.message


def test_nonfinite_after_growth_says_so_and_silences_the_consequences():
    run = started(depth=4)
    events = [run, *[healthy(run, s) for s in range(5)]]
    events.append(healthy(run, 5, grad_norm_total=1e6))
    events.append(nan_step(run, 6, "blocks.3.linear", float("inf")))
    # after the divergence the chain collapses: that is a consequence, not news
    events += [healthy(run, s, block_grad_norm=chain(run, 1e-3)) for s in range(7, 12)]
    diagnoser, _ = feed(events)
    found = kinds(diagnoser)
    assert set(found) == {"exploding_gradients", "nonfinite"}
    assert "growing step after step" in found["nonfinite"].why


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
    assert (i, d.kind, d.severity, d.step) == (4, "gradient_accumulation", "warning", 1)
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
    run = started(depth=3)
    slow = [healthy(run, s, update_ratio=(1e-6,) * 4) for s in range(20)]
    diagnoser, fired = feed([run, *slow])
    ((i, d),) = fired
    assert (i, d.kind, d.severity, d.step) == (10, "update_ratio", "info", 9)
    assert "learning rate is too low" in d.message
    fast = [healthy(run, s, update_ratio=(0.05, 1e-3, 1e-3, 1e-3)) for s in range(20)]
    diagnoser, _ = feed([run, *fast])
    (d,) = diagnoser.diagnoses()
    assert (d.severity, d.layers) == ("info", ("blocks.0.linear",))


def test_update_ratio_errors_at_the_smd_bounds():
    run = started(depth=3)
    steps = [healthy(run, s) for s in range(5)]
    steps += [healthy(run, s, update_ratio=(20.0, 1e-3, 1e-3, 1e-3)) for s in (5, 6)]
    diagnoser, fired = feed([run, *steps])
    ((i, d),) = fired
    assert (i, d.severity, d.step) == (7, "error", 6)
    assert f"above {T.UPDATE_ERROR_HIGH:g}" in d.message
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


# -- the diagnoser ----------------------------------------------------------------------------


def test_observe_returns_only_new_findings_and_diagnoses_are_sorted():
    run = started(depth=6)
    diagnoser = Diagnoser()
    assert diagnoser.observe(healthy(run, 0)) == []  # nothing before the run starts
    assert diagnoser.layer_status() == () and diagnoser.links() == ()
    events = [run, *vanishing_steps(run, 4)]
    jumpy = (1e-3,) * 5 + (20.0, 1e-3)
    events += [healthy(run, s, block_grad_norm=chain(run, 0.1), update_ratio=jumpy) for s in (4, 5)]
    revisions = []
    fired = []
    for event in events:
        fired += diagnoser.observe(event)
        revisions.append(diagnoser.revision)
    assert [d.kind for d in fired] == ["vanishing_gradients", "update_ratio"]
    assert revisions == sorted(revisions)
    assert [d.severity for d in diagnoser.diagnoses()] == ["error", "warning"]
    diagnoser.observe(run)  # a new run starts from nothing
    assert diagnoser.diagnoses() == [] and diagnoser.layer_status() == ("ok",) * 7


def test_links_medians_are_over_a_bounded_window():
    run = started(depth=3)
    steps = [healthy(run, s, block_grad_norm=chain(run, 0.5)) for s in range(100)]
    steps += [healthy(run, s, block_grad_norm=chain(run, 2.0)) for s in range(100, 100 + 20)]
    diagnoser, _ = feed([run, *steps])
    links = diagnoser.links()
    assert [link.block for link in links] == ["blocks.0", "blocks.1", "blocks.2", "head"]
    assert links[0].gain is None and links[0].cumulative is None  # its input is the data
    assert links[2].gain == pytest.approx(2.0) and links[2].gain_median == pytest.approx(2.0)
    assert links[1].cumulative == pytest.approx(8.0)  # 2 x 2 x 2 from the loss to its input
    assert T.GAIN_WINDOW == 20


def test_layer_status_prefers_the_more_fundamental_finding():
    run = started(depth=6)
    dead = (0.9,) * 6 + (None,)
    steps = [
        heavy(run, s, dead=dead, block_grad_norm=chain(run, 0.1))
        if s % 10 == 0
        else healthy(run, s, block_grad_norm=chain(run, 0.1))
        for s in range(25)
    ]
    diagnoser, _ = feed([run, *steps])
    assert diagnoser.layer_status()[:4] == ("vanishing", "vanishing", "vanishing", "dead")
    assert {"vanishing_gradients", "dead_units"} <= set(kinds(diagnoser))
    assert serious(diagnoser)
