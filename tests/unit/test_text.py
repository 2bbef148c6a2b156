"""Foreign text is made safe for a terminal: controls shown, not obeyed; one line; capped."""

from gradtui.text import safe_line, safe_text


def test_escape_and_osc52_are_made_visible():
    hostile = "name\x1b]52;c;aGk=\x07 and \x1b[2J"
    out = safe_line(hostile)
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]52;c;aGk=\\x07" in out
    assert out.endswith("\\x1b[2J")


def test_c1_controls_bidi_overrides_and_surrogates_are_made_visible():
    out = safe_line("a\x9bb\u202ec\u2066d\udcff")
    assert out == "a\\x9bb\\u202ec\\u2066d\\udcff"


def test_one_line_and_capped():
    out = safe_line("first\nsecond\r\nthird\u2028" + "x" * 500, limit=40)
    assert "\n" not in out and "\r" not in out and "\u2028" not in out
    assert len(out) == 40 and out.endswith("…")
    assert out.startswith("first second  third ")


def test_cap_never_splits_an_escape_into_raw_text():
    out = safe_line("ab\x1b" * 100, limit=10)
    assert len(out) <= 10 and "\x1b" not in out


def test_plain_text_is_unchanged():
    assert safe_line("relu_deep: depth 12 → ok [bold]") == "relu_deep: depth 12 → ok [bold]"


def test_safe_text_keeps_newlines_only():
    out = safe_text("line one\r\nline\x1b[31m two\rthree\n")
    assert out == "line one\nline\\x1b[31m two\\x0dthree\n"


def test_non_strings_are_stringified():
    assert safe_line(12) == "12"
    assert safe_text(None) == "None"
