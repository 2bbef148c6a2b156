"""Which footer keys fit a width: the pure helpers of gradtui.ui.widgets.footer."""

from __future__ import annotations

from gradtui.ui.widgets.footer import fitting, keep_rank, key_width


def test_all_keys_fit_when_there_is_room() -> None:
    assert fitting([10, 10, 10], [2, 1, 0], 30) == [0, 1, 2]


def test_the_least_needed_go_first_and_the_order_stays() -> None:
    assert fitting([10, 10, 10], [2, 0, 1], 20) == [1, 2]


def test_a_smaller_key_still_fits_after_a_wide_one_did_not() -> None:
    assert fitting([30, 5, 10], [0, 2, 1], 16) == [1, 2]


def test_help_and_quit_rank_first_unknown_actions_last() -> None:
    assert keep_rank("app.help") < keep_rank("screen.quit") < keep_rank("restart")
    assert keep_rank("screen.move(-1)") == keep_rank("something_else")


def test_a_key_is_as_wide_as_footer_draws_it() -> None:
    assert key_width("q", "Quit", compact=True) == len("q Quit") + 1  # and its margin
    assert key_width("q", "Quit", compact=False) == len(" q Quit ")
