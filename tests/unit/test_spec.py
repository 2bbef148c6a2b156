"""Scenario files: validation errors are one line naming the file and the field."""

import os
from pathlib import Path

import pytest

from gradtui.cli import main
from gradtui.scenario.spec import (
    ScenarioError,
    builtin_scenario_dir,
    discover,
    load_scenario,
    resolve,
)

GOOD = """
name = "{name}"
title = "A good one"
lesson = "Fine."
[model]
depth = 3
"""

BAD = {
    "unknown_key": (
        'name = "unknown_key"\ntitle = "t"\nlesson = "l"\n[model]\ncolour = 3\n',
        "model.colour: unknown key",
    ),
    "wrong_type": (
        'name = "wrong_type"\ntitle = "t"\nlesson = "l"\n[train]\nsteps = "many"\n',
        "train.steps:",
    ),
    "deep": ('name = "deep"\ntitle = "t"\nlesson = "l"\n[model]\ndepth = 500\n', "model.depth:"),
    "act": (
        'name = "act"\ntitle = "t"\nlesson = "l"\n[model]\nactivation = "swish"\n',
        "model.activation:",
    ),
    "syntax": ('name = "syntax"\ntitle = = "t"\n', "TOML syntax error"),
    "missing": ('name = "missing"\nlesson = "l"\n', "title: required key is missing"),
    "renamed": ('name = "other"\ntitle = "t"\nlesson = "l"\n', "name: 'other' must match"),
    "detach": (
        'name = "detach"\ntitle = "t"\nlesson = "l"\n[model]\ndepth = 3\n[fault]\ndetach_at = 5\n',
        "fault.detach_at must be below model.depth",
    ),
    "strict_bool": (
        'name = "strict_bool"\ntitle = "t"\nlesson = "l"\n[model]\ndepth = true\n',
        "model.depth: Input should be a valid integer, got True",
    ),
    "strict_str": (
        'name = "strict_str"\ntitle = "t"\nlesson = "l"\n[train]\nzero_grad = "yes"\n',
        "train.zero_grad: Input should be a valid boolean",
    ),
    "huge_seed": (
        'name = "huge_seed"\ntitle = "t"\nlesson = "l"\n[data]\nseed = 9223372036854775808\n',
        "data.seed: Input should be less than or equal to 4294967295",
    ),
    "nan_lr": ('name = "nan_lr"\ntitle = "t"\nlesson = "l"\n[train]\nlr = nan\n', "train.lr:"),
    "too_big": (
        'name = "too_big"\ntitle = "t"\nlesson = "l"\n[model]\ndepth = 64\nwidth = 1024\n'
        "[data]\nsamples = 100000\n[train]\nbatch = 100000\n",
        "train.batch, model.width and model.depth: needs about 196.3 GiB of memory (activations",
    ),
    "escape": (
        'name = "escape"\ntitle = "t"\nlesson = "l"\n[model]\n"\\u001b]52;c;aGk=\\u0007" = 1\n',
        "model.\\x1b]52;c;aGk=\\x07: unknown key",
    ),
    "untrained": (
        'name = "untrained"\ntitle = "t"\nlesson = "l"\n[model]\ndepth = 3\n[fault]\n'
        "untrained_at = 3\n",
        "fault.untrained_at must be below model.depth",
    ),
}


RAW = {
    "not_utf8": (b'name = "not_utf8"\ntitle = "\xff\xfe"\nlesson = "l"\n', "not UTF-8 text"),
    "nested": (b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deeply"),
    "large": (b"# " + b"x" * (70 * 1024) + b"\n", "larger than 64 KiB"),
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "good_one.toml").write_text(GOOD.format(name="good_one"))
    for name, (text, _) in BAD.items():
        (tmp_path / f"{name}.toml").write_text(text)
    for name, (data, _) in RAW.items():
        (tmp_path / f"{name}.toml").write_bytes(data)
    os.mkfifo(tmp_path / "fifo.toml")
    (tmp_path / "folder.toml").mkdir()
    return tmp_path


SKIPPED = {**{k: v[1] for k, v in BAD.items()}, **{k: v[1] for k, v in RAW.items()}}
SKIPPED |= {"fifo": "cannot read: a FIFO, not a regular file", "folder": "a folder"}


@pytest.mark.parametrize("name", sorted(SKIPPED))
def test_bad_file_gives_one_line_naming_file_and_field(folder: Path, name: str):
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder / f"{name}.toml")
    message = str(info.value)
    assert "\n" not in message and message.isprintable() and len(message) <= 300
    assert message.startswith(str(folder / f"{name}.toml"))
    assert SKIPPED[name] in message


def test_discovery_keeps_good_files_and_reports_the_skipped(folder: Path):
    catalog = discover([folder])
    assert "good_one" in catalog.scenarios
    assert "sigmoid_deep" in catalog.scenarios  # the shipped ones are still there
    skipped = {s.path.stem for s in catalog.skipped}
    assert skipped == set(SKIPPED)


def test_a_bad_file_in_a_folder_does_not_stop_a_good_scenario_from_running(folder: Path, capsys):
    assert main(["--scenarios", str(folder), "run", "good_one", "--steps", "2", "--json"]) == 0
    assert '"scenario": "good_one"' in capsys.readouterr().out


def test_list_names_the_skipped_files_without_a_traceback(folder: Path, capsys):
    assert main(["--scenarios", str(folder), "list"]) == 0
    out = capsys.readouterr().out
    assert "good_one" in out and "A good one" in out
    assert f"skipped {len(SKIPPED)} file(s)" in out
    assert "model.colour: unknown key" in out
    assert "Traceback" not in out


def test_environment_variable_adds_a_folder(folder: Path, monkeypatch):
    monkeypatch.setenv("GRADTUI_SCENARIOS", str(folder))
    assert "good_one" in discover().scenarios


def test_run_of_a_bad_file_is_one_line_on_stderr(folder: Path, capsys):
    assert main(["run", str(folder / "deep.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "model.depth" in err


def test_unknown_scenario_name_lists_the_known_ones():
    with pytest.raises(ScenarioError, match=r"unknown scenario 'nope'.*sigmoid_deep"):
        resolve("nope")


def test_every_shipped_scenario_is_valid():
    catalog = discover()
    assert catalog.skipped == []
    shipped = {p.stem for p in builtin_scenario_dir().glob("*.toml")}
    assert set(catalog.scenarios) == shipped
    assert len(shipped) >= 14


@pytest.mark.parametrize("steps", ["0", "-5"])
def test_a_bad_steps_override_is_one_line_naming_the_option(steps: str, capsys):
    assert main(["run", "relu_deep", "--steps", steps]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gradtui: --steps:") and "\n" not in err


def test_list_shows_control_characters_in_a_title_instead_of_obeying_them(tmp_path, capsys):
    (tmp_path / "evil.toml").write_text(
        'name = "evil"\ntitle = "clip\\u001b]52;c;aGk=\\u0007 \\u001b[2J\\u202e"\nlesson = "l"\n'
    )
    assert main(["--scenarios", str(tmp_path), "list"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("evil"))
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert line.endswith("clip\\x1b]52;c;aGk=\\x07 \\x1b[2J\\u202e")


def test_a_file_with_two_errors_names_both_on_one_line(tmp_path: Path):
    path = tmp_path / "two.toml"
    path.write_text('name = "two"\ntitle = "t"\nlesson = "l"\n[model]\ncolour = 3\ndepth = 500\n')
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"{path}:")
    assert "model.colour: unknown key" in message and "model.depth:" in message


def test_many_errors_show_a_few_and_count_the_rest(tmp_path: Path):
    keys = "".join(f"k{i} = 1\n" for i in range(7))
    path = tmp_path / "many.toml"
    path.write_text(f'name = "many"\ntitle = "t"\nlesson = "l"\n[model]\n{keys}')
    with pytest.raises(ScenarioError, match=r"model\.k0: unknown key; .*\(and 3 more\)"):
        load_scenario(path)
