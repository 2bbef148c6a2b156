"""`gradtui serve`'s arguments, checked in the terminal; the app command, quoted for a shell."""

from __future__ import annotations

import shlex
import socket
import sys
from pathlib import Path

import pytest

from gradtui.cli import main
from gradtui.serve.command import split_options
from tests.serve.recording import write_recording


def test_host_and_port_are_taken_out_wherever_they_stand():
    words = ["replay", "a.jsonl", "--port", "8123", "--host=0.0.0.0"]
    assert split_options(words) == (["replay", "a.jsonl"], {"port": "8123", "host": "0.0.0.0"})
    with pytest.raises(ValueError, match="--port needs a value"):
        split_options(["replay", "--port"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "replay", "missing.jsonl"], "missing.jsonl: no such recording"),
        (["serve", "report", "x.jsonl"], "serve runs one of launch, replay, attach, not 'report'"),
        (["serve", "launch", "no_such_scenario"], "unknown scenario 'no_such_scenario'"),
    ],
)
def test_a_wrong_app_is_one_line_before_any_server_starts(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_the_app_command_survives_the_shell(tmp_path: Path, monkeypatch):
    pytest.importorskip("textual_serve", reason="textual-serve is not installed: gradtui[serve]")
    from gradtui.serve import server

    fixture = write_recording(tmp_path / "it's a $HOME; run.jsonl")
    served = {}
    monkeypatch.setattr(server, "serve", lambda words, **_: served.update(w=words) or 0)
    assert main(["serve", "replay", str(fixture), "--port", "8123"]) == 0
    command = server.app_command(served["w"])
    words = [sys.executable, "-m", "gradtui", "replay", str(fixture)]
    assert shlex.split(command) == ["exec", *words]


def test_without_a_port_the_os_picks_a_free_one():
    pytest.importorskip("textual_serve", reason="textual-serve is not installed: gradtui[serve]")
    from gradtui.serve.server import listen

    with listen("127.0.0.1", 0) as listener:
        port = listener.getsockname()[1]
        assert port > 0
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", port))  # ours now: no race with another program
