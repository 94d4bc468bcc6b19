"""Newline-delimited messages read from a pipe, as the parent reads what the forked driver writes: its progress
events (progress.ProgressReader) and its hook requests (hooks.HookServer)."""

from __future__ import annotations

import os


class LineReader:
    """Reads `fd` in chunks of up to `size` bytes and hands over whole lines; a line cut between two reads is kept
    until its end arrives."""

    def __init__(self, fd: int, size: int = 65536) -> None:
        self.fd = fd
        self.size = size
        self._pending = b""

    def read(self) -> list[bytes] | None:
        """The lines one read completes (maybe none); None at the end of the stream (every writer closed). Blocks
        when nothing is there to read: call it once select says the fd is readable."""
        chunk = os.read(self.fd, self.size)
        if not chunk:
            return None
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        return lines
