"""The chain rules (vanishing, exploding), non-finite values and the Diagnoser itself, on
hand-made streams of events: exact numbers, exact steps, no torch."""

import pytest

from gradtui.diagnosis import Diagnoser, texts
from gradtui.diagnosis import thresholds as T
from tests.unit.diagnosis_fakes import (
    chain,
    feed,
    healthy,
    heavy,
    kinds,
    one_link,
    serious,
    started,
)

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
    # the text starts at the finding's own step (issue 10: it said 'At step 12' on step 11)
    assert d.message.startswith("Since step 11 it jumps; at step 12 ")


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


def test_nonfinite_after_growth_says_so_and_tells_the_consequences_as_such():
    run = started(depth=4)
    events = [run, *[healthy(run, s) for s in range(5)]]
    events.append(healthy(run, 5, grad_norm_total=1e6))
    events.append(nan_step(run, 6, "blocks.3.linear", float("inf")))
    # after the divergence the chain collapses: that is a consequence, not news
    events += [healthy(run, s, block_grad_norm=chain(run, 1e-3)) for s in range(7, 12)]
    diagnoser, _ = feed(events)
    found = kinds(diagnoser)
    serious_kinds = {k for k, d in found.items() if d.severity != "info"}
    assert serious_kinds == {"exploding_gradients", "nonfinite"}
    assert "growing step after step" in found["nonfinite"].why
    # the collapse after it is told, as a note that names the divergence (issue 10)
    assert found["vanishing_gradients"].message.startswith("A consequence of the divergence at")
    assert [d.kind for d in diagnoser.diagnoses()][-1] == "vanishing_gradients"


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
    # one update of 20x the weights is a divergence at once (issue 10: it wanted two in a row)
    serious = [d for d in fired if d.severity != "info"]
    assert [d.kind for d in serious] == ["vanishing_gradients", "divergence"]
    # what fired after it is a note that names the divergence (issue 10)
    assert all(d.message.startswith("A consequence of") for d in fired if d.severity == "info")
    assert revisions == sorted(revisions)
    assert [d.severity for d in diagnoser.diagnoses()][:2] == ["error", "warning"]
    diagnoser.observe(run)  # a new run starts from nothing
    assert (
        diagnoser.diagnoses() == [] and diagnoser.layer_status() == ("no data",) * 7
    )  # issue 10: no ok without data


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


def layer_norms(first: float, gain: float, n: int) -> tuple[float, ...]:
    """Weight-gradient norms growing by ``gain`` per layer from ``first`` at the input."""
    return tuple(first * gain**i for i in range(n))


def test_without_links_vanishing_is_read_from_the_layers_gradients():
    run = one_link()
    norms = layer_norms(1e-8, 10.0, len(run.layers))  # 1e-8 .. 1e-3 at the head
    steps = [healthy(run, s, grad_norm=norms, block_grad_norm=(0.2,)) for s in range(4)]
    diagnoser, fired = feed([run, *steps])
    assert [(i, d.kind, d.severity) for i, d in fired] == [(3, "vanishing_gradients", "warning")]
    d = fired[0][1]
    assert d.layers == ("blocks.0.linear", "blocks.1.linear")  # under 1e-3 of the head's
    assert "blocks.0.linear has been a small part of head's: 1.0e-05 of it at step 2" in d.message
    assert "measures no links" in d.message
    assert diagnoser.layer_status()[:3] == ("vanishing", "vanishing", "ok")


@pytest.mark.parametrize(
    ("first", "gain"),
    [
        (1e-2, 10.0),  # five decades apart, but the first layer's gradient is not small
        (1e-6, 2.0),  # small everywhere, but within a decade and a half of the head's
    ],
)
def test_without_links_large_or_even_layer_gradients_are_not_vanishing(first, gain):
    run = one_link()
    norms = layer_norms(first, gain, len(run.layers))
    steps = [healthy(run, s, grad_norm=norms, block_grad_norm=(0.2,)) for s in range(6)]
    diagnoser, _ = feed([run, *steps])
    assert "vanishing_gradients" not in {d.kind for d in diagnoser.diagnoses()}


@pytest.mark.parametrize("dead", [True, False])
def test_a_link_cut_to_exactly_zero_is_blamed_on_dead_units_or_on_underflow(dead):
    """Block 2 passes back exactly nothing. When the heavy check saw every unit of it dead,
    that is the story; without that, only float32 underflow can make an exact zero."""
    run = started(depth=4)
    norms = (0.0, 0.0, 0.0, 0.3, 0.3)  # blocks 0-2 get nothing; link 3 cuts it to zero
    shares = (0.0, 0.1, 0.2, 1.0, None) if dead else (0.0, 0.1, 0.2, 0.2, None)
    steps = [heavy(run, s, dead=shares, block_grad_norm=norms) for s in range(4)]
    diagnoser, _ = feed([run, *steps])
    (d,) = [d for d in diagnoser.diagnoses() if d.kind == "vanishing_gradients"]
    assert "exactly zero" in d.message
    if dead:
        assert "every unit there is dead" in d.message and d.why == texts.DEAD_WHY
        assert "dead_units" in {x.kind for x in diagnoser.diagnoses()}
    else:
        assert "float32 underflow" in d.message and d.why != texts.DEAD_WHY
