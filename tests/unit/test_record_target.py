"""--record is checked before training, never overwrites unasked, and has one writer."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from gradtui.cli import main
from gradtui.recording import Recorder, RecordingError, read_recording
from gradtui.recording.target import open_target

RUN = ["run", "tiny_overfit", "--steps", "3", "--json"]


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_an_existing_file_is_not_overwritten_without_force(tmp_path: Path, capsys):
    path = tmp_path / "run.jsonl"
    path.write_text("precious\n")
    assert main([*RUN, "--record", str(path)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(path) in line and "--force" in line and "run-2.jsonl" in line
    assert path.read_text() == "precious\n"
    assert main([*RUN, "--record", str(path), "--force"]) == 0
    assert read_recording(path).events[-1].type == "run_finished"


@pytest.mark.parametrize("kind", ["folder", "fifo", "unwritable"])
def test_a_bad_record_path_is_one_line_before_training(tmp_path: Path, capsys, kind):
    path = tmp_path / "target.jsonl"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        path = locked / "run.jsonl"
        if os.access(locked, os.W_OK):  # root ignores permissions
            pytest.skip("permissions are not enforced for this user")
    code = main([*RUN, "--record", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""  # refused before a step was trained
    assert str(path) in _one_line(err)


def test_a_second_writer_fails_with_a_clear_message(tmp_path: Path, capsys):
    path = tmp_path / "shared.jsonl"
    with Recorder(path):
        with pytest.raises(RecordingError, match="another process is recording"):
            open_target(path, force=True)
        assert main([*RUN, "--record", str(path), "--force"]) == 2
        assert "another process is recording" in _one_line(capsys.readouterr().err)
    with Recorder(path):  # released at close
        pass


def test_a_full_disk_stops_the_recording_not_the_run(tmp_path: Path, capsys, monkeypatch):
    path = tmp_path / "full.jsonl"
    written = []

    def write(self, event):
        if len(written) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(event)
        self._file.write("\n")

    monkeypatch.setattr(Recorder, "__call__", write)
    assert main([*RUN, "--record", str(path)]) == 2
    out, err = capsys.readouterr()
    assert '"steps_run": 3' in out  # the report is still printed
    line = _one_line(err)
    assert "No space left on device" in line and "recording stops here" in line


def test_control_characters_in_a_path_are_shown_not_obeyed(tmp_path: Path, capsys):
    path = tmp_path / "a\x1b[2Jb\x1b]52;c;aGk=\x07"
    path.mkdir()
    assert main([*RUN, "--record", str(path)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\\x1b[2J" in err


def test_exit_codes_for_the_report_command(tmp_path: Path, capsys):
    missing = tmp_path / "missing.jsonl"
    assert main(["report", str(missing)]) == 2
    assert str(missing) in _one_line(capsys.readouterr().err)
    path = tmp_path / "ok.jsonl"
    assert main([*RUN, "--record", str(path)]) == 0
    capsys.readouterr()
    assert main(["report", str(path)]) == 0
