"""Cuts a byte stream into lines, chunk by chunk, holding at most one line's bytes.

Both the whole-file reader and the follower read in chunks through a LineSplitter, so neither
holds a file in memory, and a line longer than the cap (a file that is not a recording, or a
corrupt one) is dropped as it streams past instead of being gathered. No torch.
"""

from __future__ import annotations

from gradtui.recording.parser import MAX_LINE_BYTES

TOO_LONG = None  # stands for a line that was dropped for its length


class LineSplitter:
    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self.max_line = max_line
        self._partial = bytearray()
        self._dropping = False  # inside a line already over the cap

    def feed(self, chunk: bytes) -> list[bytes | None]:
        """The lines completed by this chunk, without their newline; TOO_LONG for a line
        that was over the cap."""
        out: list[bytes | None] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                self._hold(chunk[start:])
                return out
            if self._dropping or len(self._partial) + end - start > self.max_line:
                out.append(TOO_LONG)
            else:
                out.append(bytes(self._partial) + chunk[start:end])
            self._partial.clear()
            self._dropping = False
            start = end + 1

    def _hold(self, rest: bytes) -> None:
        if self._dropping:
            return
        if len(self._partial) + len(rest) > self.max_line:
            self._partial.clear()
            self._dropping = True
            return
        self._partial += rest

    @property
    def tail(self) -> bool:
        """Bytes after the last newline: a line being written, or cut off."""
        return bool(self._partial) or self._dropping

    def reset(self) -> None:
        self._partial.clear()
        self._dropping = False
