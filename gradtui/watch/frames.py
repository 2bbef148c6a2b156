"""Messages between a monitor and its writer process: one pickled object per frame, after
its length, over a pipe. Both ends are gradtui in the same user's session, so pickle is the
trusted, quick way to carry events as they are. No torch.
"""

from __future__ import annotations

import os
import pickle
import struct

_LENGTH = struct.Struct(">I")


def send(fd: int, message: object) -> None:
    """Write ``message`` as one frame; OSError (BrokenPipeError) when the other end is gone."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_LENGTH.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def receive(fd: int) -> object | None:
    """The next frame's message; None at the end of the stream (or a frame cut short)."""
    header = _exactly(fd, _LENGTH.size)
    if header is None:
        return None
    body = _exactly(fd, _LENGTH.unpack(header)[0])
    return None if body is None else pickle.loads(body)


def _exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
