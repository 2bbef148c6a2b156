"""A missing or mistyped command: usage on stderr, exit 2, a did-you-mean."""

import pytest

from gradtui.cli import main


def test_bare_gradtui_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as ended:
        main([])
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: gradtui")
    assert "a command is needed" in err


def test_a_mistyped_command_suggests_the_right_one(capsys) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["chek", "train.py"])
    assert ended.value.code == 2
    assert "did you mean 'check'?" in capsys.readouterr().err


def test_a_word_like_no_command_gets_no_guess(capsys) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["--scenarios", "run", "zzzzqqq"])
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert "unknown command 'zzzzqqq'" in err
    assert "did you mean" not in err
