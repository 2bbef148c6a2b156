"""Where a recording is written: checked before training starts, and held by one writer.

``open_target`` makes the folder, refuses an existing file unless ``force`` (saying which
numbered name is free), refuses anything but a regular file (a folder, a FIFO, a device),
and takes an exclusive lock (flock) so a second writer fails at once with a clear message
instead of interleaving its lines with the first's. The file is opened for appending, so a
file truncated under a running writer continues at its new end rather than after a run of
NULs. Every failure is a RecordingError of one line. No torch.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path
from typing import IO

from gradtui.recording.parser import RecordingError, shown


def free_name(path: Path) -> Path:
    """runs/x.jsonl -> runs/x-2.jsonl (or -3, ...): the first numbered name not taken."""
    for n in range(2, 10_000):
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            return candidate
    return path


def check_target(path: Path, force: bool) -> None:
    """Raise RecordingError when ``path`` cannot be a new recording (see open_target)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise RecordingError(f"{shown(path)}: cannot write: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise RecordingError(f"{shown(path)}: is a folder; give a file name to record to")
    if not stat.S_ISREG(info.st_mode):
        raise RecordingError(f"{shown(path)}: not a regular file; will not record to it")
    if not force:
        raise RecordingError(
            f"{shown(path)}: already exists; pass --force to overwrite it, or record to "
            f"{shown(free_name(path))}"
        )


def open_target(path: Path, force: bool = False) -> IO[str]:
    """``path`` opened for writing a new recording, locked against other writers;
    line-buffered UTF-8 text. RecordingError (one line) when it cannot be."""
    check_target(path, force)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open(path, flags if force else flags | os.O_EXCL, 0o644)
    except FileExistsError:
        raise RecordingError(f"{shown(path)}: appeared while starting; not overwriting") from None
    except OSError as exc:
        raise RecordingError(f"{shown(path)}: cannot write: {exc.strerror or exc}") from None
    try:
        _claim(fd, path)
        return os.fdopen(fd, "w", encoding="utf-8", buffering=1)
    except BaseException:
        os.close(fd)
        raise


def _claim(fd: int, path: Path) -> None:
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        raise RecordingError(f"{shown(path)}: not a regular file; will not record to it")
    os.set_blocking(fd, True)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise RecordingError(
                f"{shown(path)}: another process is recording to this file; "
                "wait for it to finish or record elsewhere"
            ) from None
        # Any other error: a file system without locks (ENOLCK, EOPNOTSUPP); write unlocked.
    os.ftruncate(fd, 0)  # only now that it is ours: never cut another writer's file
