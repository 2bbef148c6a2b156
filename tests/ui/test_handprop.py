"""Exercise 1 driven as a learner does, at 80x24 and 120x40: each backward line shows its
formula first and its values on the next key, `s` shows everything, and no vector wraps.

Autograd's side comes from a stand-in oracle that answers with the values by hand (the real
worker is checked against them in tests/ui/test_learn.py and tests/unit/test_learn.py)."""

from __future__ import annotations

import pytest

from gradtui.learn import handprop
from gradtui.learn.progress import Progress
from gradtui.scenario.spec import discover
from gradtui.ui.learn_app import LearnApp
from gradtui.ui.screens import handprop as screen_module
from gradtui.ui.screens.course import CourseScreen
from gradtui.ui.screens.handprop import LAST_STEP, LINES, HandpropScreen
from tests.ui.conftest import wait_for

SIZES = [(80, 24), (120, 40)]


class EchoOracle:
    """Answers as autograd would, from the values by hand; starts no process."""

    def ask(self, request: dict) -> dict:
        net = handprop.Net(**{k: _tuples(v) for k, v in request["net"].items()})
        grads = {line.key: list(line.value) for line in handprop.backward_lines(net)}
        return {"grads": grads, "first": handprop.first_example()[1]}

    def close(self) -> None:
        pass


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(screen_module, "OracleClient", EchoOracle)


def screen_lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def open_exercise(pilot) -> HandpropScreen:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, CourseScreen))
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, HandpropScreen) and app.screen.ready)
    return app.screen


def backward_pane(app) -> str:
    return str(app.screen.query_one("#hp-lines").render())


def assert_no_vector_wraps(lines: list[str]) -> None:
    for row in lines:
        assert row.count("[") == row.count("]"), f"a vector wraps: {row!r}"


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_each_line_shows_its_formula_first_and_its_values_on_the_next_key(size):
    app = LearnApp(discover(), speed=None, seed=0)
    async with app.run_test(size=size) as pilot:
        screen = await open_exercise(pilot)
        await wait_for(pilot, lambda: "Reveal next" in screen_lines(app)[-1])
        assert "Show all" in screen_lines(app)[-1]
        lines = handprop.backward_lines(screen.net)
        for index, line in enumerate(lines, start=1):
            await pilot.press("space")

            def asked(index=index, line=line) -> bool:  # scrolled to it, the value hidden
                shown = screen_lines(app)
                return any(f"{index}. {line.label} =" in row for row in shown) and any(
                    "?  work it out" in row for row in shown
                )

            await wait_for(pilot, asked)
            assert f"{line.value[0]:+.4f}" not in backward_pane(app).split(f"{index}. ")[1]
            await pilot.press("n")

            def revealed(line=line) -> bool:
                shown = screen_lines(app)
                return not any("?  work it out" in row for row in shown) and any(
                    f"by hand   [{line.value[0]:+.4f}" in row for row in shown
                )

            await wait_for(pilot, revealed)
            assert_no_vector_wraps(screen_lines(app))
        assert screen.step == LAST_STEP and 1 in Progress().done


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_s_shows_every_line_and_keys_back_to_back_go_back_and_forth(size):
    app = LearnApp(discover(), speed=None, seed=0)
    async with app.run_test(size=size) as pilot:
        screen = await open_exercise(pilot)
        await pilot.press("space", "space", "space", "left", "p", "right")
        assert screen.step == 2 and 1 not in Progress().done
        await pilot.press("s")
        await pilot.pause()
        assert screen.step == LAST_STEP and 1 in Progress().done
        text = backward_pane(app)
        assert text.count("difference") == LINES and "?" not in text
        assert_no_vector_wraps(screen_lines(app))
        await pilot.press("a", "s")  # the other activation, everything shown again
        await wait_for(pilot, lambda: screen.ready)
        assert screen.net.activation == "tanh" and "⊙ (1 − h²)" in backward_pane(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CourseScreen))


def test_the_matrix_gradient_keeps_its_rows_beside_autograd():
    net = handprop.random_net(3, "tanh")
    line = next(line for line in handprop.backward_lines(net) if line.key == "W1")
    answer = EchoOracle().ask({"net": net.to_dict()})
    text = screen_module.backward_text(net, LAST_STEP, answer["grads"], "").plain
    block = text.split(f"{line.label} =")[1].split("difference")[0].splitlines()[1:]
    rows = [row for row in block if row.strip()]
    assert len(rows) == 2 * handprop.HIDDEN  # three rows by hand, three by autograd
    assert all(row.count("+") + row.count("-") == handprop.INPUTS for row in rows)


async def test_the_title_spaces_its_dots_on_both_sides():
    """'line 5/7 · sigmoid', as the issue saw it without the space ('line 5/7· sigmoid')."""
    app = LearnApp(discover(), speed=None, seed=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_exercise(pilot)
        await pilot.press(*["space"] * 9)
        await pilot.pause()
        title = screen_lines(app)[0]
        assert "backprop by hand   line 5/7 · sigmoid · weights #" in title
        assert "·" not in title.replace(" · ", "")
