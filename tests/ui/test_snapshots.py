"""Pictures of each screen, from seeded recordings replayed to their end at a fixed size.

The recordings are committed (tests/fixtures/ui). Replays show no timings (no steps per
second), the picker's filter has no blinking cursor, and notifications are cleared before the
picture, so every run draws the same SVG. Update with `make snapshots`, then look at each
picture before accepting it.
"""

from __future__ import annotations

from gradtui.scenario.spec import discover
from gradtui.ui.screens.runscreen import RunScreen
from tests.ui.conftest import wait_for

WIDE = (120, 40)
SMALL = (80, 24)


async def finished(pilot) -> None:
    """Wait until every run on screen has ended, then clear the toasts."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
    await wait_for(pilot, lambda: all(f.history.ended for f in app.screen.feeds))
    await pilot.pause(0.2)
    app.clear_notifications()
    await pilot.pause(0.1)


def replay(make_app, recorded_events, *names):
    return make_app(replays=[recorded_events[name] for name in names], speed=None)


def test_picker(snap_compare, make_app) -> None:
    """The picker at 120x40: every shipped scenario listed, the first highlighted, its lesson."""
    assert snap_compare(make_app(), terminal_size=WIDE)


def test_picker_with_an_invalid_file(snap_compare, make_app, tmp_path) -> None:
    """The filter 'typo' shows the invalid file greyed out with its reason, nothing launchable."""
    (tmp_path / "typo_in_depth.toml").write_text(
        'name = "typo_in_depth"\ntitle = "Oops"\nlesson = "x"\n[model]\ndepht = 4\n'
    )
    app = make_app(catalog=discover([tmp_path]))
    assert snap_compare(app, terminal_size=WIDE, press=["t", "y", "p", "o"])


def test_picker_marked_two(snap_compare, make_app) -> None:
    """sigmoid_deep and relu_deep both carry the ◆ mark and are named under the lesson."""
    keys = [*"sigmoid_deep", "escape", "space", *"relu_deep", "escape", "space"]
    assert snap_compare(make_app(), terminal_size=WIDE, press=keys)


def test_dashboard_sigmoid_deep(snap_compare, make_app, recorded_events) -> None:
    """sigmoid_deep ended: vanishing layers blue, a fading chain, its diagnosis with why and fix."""
    app = replay(make_app, recorded_events, "sigmoid_deep")
    assert snap_compare(app, terminal_size=WIDE, run_before=finished)


def test_dashboard_broken_graph(snap_compare, make_app, recorded_events) -> None:
    """broken_graph ended: the detached layers missing, the chain's ✕ at the broken link."""
    app = replay(make_app, recorded_events, "broken_graph")
    assert snap_compare(app, terminal_size=WIDE, run_before=finished)


def test_dashboard_exploding_no_clip(snap_compare, make_app, recorded_events) -> None:
    """exploding_no_clip ended: the loss's red non-finite line, nan badges, the exploding link."""
    app = replay(make_app, recorded_events, "exploding_no_clip")
    assert snap_compare(app, terminal_size=WIDE, run_before=finished)


def test_dashboard_failed_run(snap_compare, make_app, recorded_events) -> None:
    """inplace_op failed at step 0: the failed state and the autograd error explained."""
    app = replay(make_app, recorded_events, "inplace_op")
    assert snap_compare(app, terminal_size=WIDE, run_before=finished)


def test_dashboard_small_terminal(snap_compare, make_app, recorded_events) -> None:
    """sigmoid_deep at 80x24: the panels stacked and scrollable, the footer compact."""
    app = replay(make_app, recorded_events, "sigmoid_deep")
    assert snap_compare(app, terminal_size=SMALL, run_before=finished)


def test_compare(snap_compare, make_app, recorded_events) -> None:
    """sigmoid_deep beside relu_deep at 120x40, both ended."""
    app = replay(make_app, recorded_events, "sigmoid_deep", "relu_deep")
    assert snap_compare(app, terminal_size=WIDE, run_before=finished)


def test_compare_clipping_pair(snap_compare, make_app, recorded_events) -> None:
    """exploding_no_clip beside exploding_clipped at 120x40, both ended."""
    app = replay(make_app, recorded_events, "exploding_no_clip", "exploding_clipped")
    assert snap_compare(app, terminal_size=WIDE, run_before=finished)


def test_help(snap_compare, make_app, recorded_events) -> None:
    """The help over a finished broken_graph run, from its first line."""
    app = replay(make_app, recorded_events, "broken_graph")

    async def open_help(pilot) -> None:
        await finished(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=WIDE, run_before=open_help)


def test_compare_small_terminal(snap_compare, make_app, recorded_events) -> None:
    """sigmoid_deep (A) beside relu_deep (B) at 80x24: one scale, named sides, diagnoses in view."""
    app = replay(make_app, recorded_events, "sigmoid_deep", "relu_deep")
    assert snap_compare(app, terminal_size=SMALL, run_before=finished)


def test_compare_chain_panels(snap_compare, make_app, recorded_events) -> None:
    """The same pair with p pressed: both lower panels show the chain; B's links on ×1 (━)."""
    app = replay(make_app, recorded_events, "sigmoid_deep", "relu_deep")

    async def chains(pilot) -> None:
        await finished(pilot)
        await pilot.press("p")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=WIDE, run_before=chains)


def test_dashboard_healthy_chain(snap_compare, make_app, recorded_events) -> None:
    """relu_deep ended: every link a green ━ on the ×1 line, the links numbered 0 … H."""
    app = replay(make_app, recorded_events, "relu_deep")
    assert snap_compare(app, terminal_size=WIDE, run_before=finished)


def test_dashboard_user_run_nine_layers(snap_compare, make_app, recorded_events) -> None:
    """A user's 9-Linear nn.Sequential (gradtui.watch): layers '0 (Linear)' … '16 (Linear)',
    the chain's columns labelled 0 2 4 … 16 to match, its findings listed."""
    app = replay(make_app, recorded_events, "user_mlp9")
    assert snap_compare(app, terminal_size=WIDE, run_before=finished)


def test_dashboard_light_theme(snap_compare, make_app, recorded_events) -> None:
    """relu_deep ended in textual-light: the ok badges, legend, chain and loss all readable."""
    app = replay(make_app, recorded_events, "relu_deep")

    async def light(pilot) -> None:
        pilot.app.theme = "textual-light"
        await finished(pilot)

    assert snap_compare(app, terminal_size=WIDE, run_before=light)


def test_picker_small_terminal(snap_compare, make_app) -> None:
    """The picker at 80x24: one row per scenario (a long title ends in …), the summary broken
    between phrases, a compact footer with ? Help."""
    assert snap_compare(make_app(), terminal_size=SMALL)


def test_compare_flow_small_terminal(snap_compare, make_app, recorded_events) -> None:
    """sigmoid_deep beside relu_deep at 80x24, gradient flow below: 21 layers merged to fit,
    rows 0 4 8 12 16 and the head's row H, the step axis, the whole key one cell a band."""
    app = replay(make_app, recorded_events, "sigmoid_deep", "relu_deep")

    async def flows(pilot) -> None:
        await finished(pilot)
        await pilot.press("p", "p")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=SMALL, run_before=flows)
