"""Every status colour reads on both themes: WCAG contrast 4.5:1 or better, everywhere used."""

from __future__ import annotations

import pytest
from textual.color import Color
from textual.theme import BUILTIN_THEMES

from gradtui.ui.palette import DARK, LIGHT, ROLES, Palette

WCAG_TEXT = 4.5


def luminance(colour: str) -> float:
    """WCAG relative luminance of an sRGB colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    rgb = Color.parse(colour)
    return 0.2126 * linear(rgb.r) + 0.7152 * linear(rgb.g) + 0.0722 * linear(rgb.b)


def contrast(one: str, other: str) -> float:
    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def backgrounds(theme: str) -> list[str]:
    """The colours a theme draws panels and the header on."""
    made = BUILTIN_THEMES[theme].to_color_system().generate()
    return [made["background"], made["surface"], made["panel"]]


def test_contrast_matches_known_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize(("palette", "theme"), [(DARK, "textual-dark"), (LIGHT, "textual-light")])
def test_every_status_colour_reads_on_its_theme(palette: Palette, theme: str) -> None:
    assert set(palette.colours) == set(ROLES)
    low = [
        (role, background, round(contrast(colour, background), 2))
        for role, colour in palette.colours.items()
        for background in backgrounds(theme)
        if contrast(colour, background) < WCAG_TEXT
    ]
    assert low == []


@pytest.mark.parametrize("palette", [DARK, LIGHT])
def test_badge_ink_reads_on_every_fill(palette: Palette) -> None:
    low = [
        (role, round(contrast(palette.ink, colour), 2))
        for role, colour in palette.colours.items()
        if contrast(palette.ink, colour) < WCAG_TEXT
    ]
    assert low == []


def test_the_two_palettes_tell_the_statuses_apart() -> None:
    for palette in (DARK, LIGHT):
        shown = [palette.colours[role] for role in ROLES if role not in ("untrained", "muted")]
        assert len(set(shown)) == len(shown)


@pytest.mark.parametrize("theme", [t for t in BUILTIN_THEMES if not t.startswith("ansi")])
def test_every_status_colour_reads_on_every_builtin_background(theme: str) -> None:
    """A theme picked from the palette (nord, solarized-light, ...) reads too, on its
    background and surface (a few themes' panel colour is too close to the middle)."""
    palette = DARK if BUILTIN_THEMES[theme].dark else LIGHT
    low = [
        (role, background)
        for role, colour in palette.colours.items()
        for background in backgrounds(theme)[:2]
        if contrast(colour, background) < WCAG_TEXT
    ]
    assert low == []
