"""Every argument of every command says what it is for in ``gradtui COMMAND --help``."""

import argparse

import pytest

from gradtui.cli_parser import build_parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _unexplained(parser: argparse.ArgumentParser) -> list[str]:
    return [
        "/".join(action.option_strings) or action.dest
        for action in parser._actions
        if not (action.help and action.help.strip()) or action.help == argparse.SUPPRESS
    ]


def test_every_top_level_argument_has_help() -> None:
    parser = build_parser()
    top = [a for a in parser._actions if not isinstance(a, argparse._SubParsersAction)]
    assert all(action.help for action in top)


@pytest.mark.parametrize("command", sorted(_subparsers(build_parser())))
def test_every_argument_of_every_command_has_help(command: str) -> None:
    subparser = _subparsers(build_parser())[command]
    assert _unexplained(subparser) == []


def test_every_command_has_a_help_line() -> None:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helped = {choice.dest for choice in action._choices_actions if choice.help}
    assert helped == set(_subparsers(parser))


def test_sweep_help_explains_its_scenario(capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sweep", "--help"])
    out = capsys.readouterr().out
    assert "NAME_OR_PATH" in out and "a scenario's name" in out
