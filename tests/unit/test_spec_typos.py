"""A mistyped key in a scenario file: the error names the key it was probably meant to be."""

from pathlib import Path

import pytest

from gradtui.scenario.spec import ScenarioError, load_scenario

HEAD = 'name = "{name}"\ntitle = "t"\nlesson = "l"\n'


def _error(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(HEAD.format(name=name) + body)
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    return str(raised.value)


def test_a_mistyped_nested_key_gets_a_did_you_mean(tmp_path: Path) -> None:
    message = _error(tmp_path, "nested", "[model]\ndepht = 3\n")
    assert message.endswith("model.depht: unknown key; did you mean 'depth'?")


def test_a_mistyped_top_level_key_gets_a_did_you_mean(tmp_path: Path) -> None:
    message = _error(tmp_path, "top", 'titel = "x"\n')
    assert "titel: unknown key; did you mean 'title'?" in message


def test_a_mistyped_table_gets_a_did_you_mean(tmp_path: Path) -> None:
    message = _error(tmp_path, "table", "[trian]\nsteps = 3\n")
    assert "trian: unknown key; did you mean 'train'?" in message


def test_a_key_like_none_gets_no_guess(tmp_path: Path) -> None:
    message = _error(tmp_path, "far", "[model]\nzzzqqq = 3\n")
    assert message.endswith("model.zzzqqq: unknown key")
