"""The worker's log is private to the user and never follows a planted link."""

from __future__ import annotations

import stat
from pathlib import Path

from gradtui.ui import worker


def _fail_and_log() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        worker._log_traceback()


def test_the_log_is_a_private_file_in_a_private_folder(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    _fail_and_log()
    log = Path(worker.log_path())
    assert log == tmp_path / "gradtui" / "worker.log"
    assert "RuntimeError: boom" in log.read_text()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700


def test_a_link_in_place_of_the_log_is_not_followed(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    target = tmp_path / "victim.txt"
    target.write_text("keep\n")
    (tmp_path / "gradtui").mkdir(mode=0o700)
    (tmp_path / "gradtui" / "worker.log").symlink_to(target)
    _fail_and_log()  # refused quietly: no log beats a worker that dies writing one
    assert target.read_text() == "keep\n"
