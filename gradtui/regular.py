"""Opening a file named by a user only when it is a regular file. No torch, no textual.

A FIFO, a device or a folder named like a scenario or a recording must not hang or flood a
reader: the path is checked with stat first, then opened without blocking (a FIFO with no
writer would block a plain open) and checked again on the open descriptor, which is what is
read, so a path swapped in between is caught too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO


class NotRegularFile(OSError):
    """The path exists but is not a regular file; ``str()`` says what it is."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _check(mode: int) -> None:
    if not stat.S_ISREG(mode):
        kind = _kind(mode)
        raise NotRegularFile(f"{kind}, not a regular file" if kind.startswith("a ") else kind)


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for binary reading; NotRegularFile when it is not a regular file,
    OSError as ``open`` raises it otherwise."""
    _check(os.stat(path).st_mode)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        _check(os.fstat(fd).st_mode)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def reason(exc: OSError) -> str:
    """A short reason for a failed open, without the path (callers name the file)."""
    if isinstance(exc, NotRegularFile):
        return str(exc)
    return exc.strerror or type(exc).__name__
