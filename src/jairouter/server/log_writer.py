"""Lines written by a background thread, so a slow disk or a full pipe never stalls the loop.

The event loop only puts a ready-made line on a queue (a C call, no lock held for long, no
logging.LogRecord, no Formatter); the thread writes whatever has piled up in one go.
"""

from __future__ import annotations

import enum
import os
import queue
import threading
from pathlib import Path

# Writes up to this size are atomic on a pipe, so lines from several workers never interleave.
_PIPE_BUF = 4096
_STREAMS = {"stdout": 1, "stderr": 2}


class _Control(enum.Enum):
    REOPEN = enum.auto()
    STOP = enum.auto()


class LineWriter:
    """Appends lines to stdout, stderr or a file from a thread of its own."""

    def __init__(self, output: str) -> None:
        self.output = output
        self._path = None if output in _STREAMS else Path(output).expanduser()
        self._fd = self._open()
        self._queue: queue.SimpleQueue[bytes | _Control] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="jairouter-access-log", daemon=True)
        self._thread.start()

    def write(self, line: bytes) -> None:
        """Queue one newline-terminated line; returns at once."""
        self._queue.put(line)

    def reopen(self) -> None:
        """Reopen the file after what is queued, so a rotated log is let go (as nginx -s reopen)."""
        if self._path is not None:
            self._queue.put(_Control.REOPEN)

    def close(self) -> None:
        """Write what is queued, then stop the thread (and close the file)."""
        self._queue.put(_Control.STOP)
        self._thread.join()
        if self._path is not None:
            os.close(self._fd)

    def _open(self) -> int:
        if self._path is None:
            return _STREAMS[self.output]
        return os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            lines: list[bytes] = []
            while isinstance(item, bytes):
                lines.append(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            self._write(lines)
            if item is _Control.STOP:
                return
            if item is _Control.REOPEN:
                self._reopen()

    def _reopen(self) -> None:
        try:
            fd = self._open()
        except OSError:
            return  # keep writing where we were rather than lose lines
        os.close(self._fd)
        self._fd = fd

    def _write(self, lines: list[bytes]) -> None:
        chunk: list[bytes] = []
        size = 0
        for line in lines:
            if chunk and size + len(line) > _PIPE_BUF:
                self._write_all(b"".join(chunk))
                chunk, size = [], 0
            chunk.append(line)
            size += len(line)
        if chunk:
            self._write_all(b"".join(chunk))

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._fd, view) :]
            except OSError:
                return  # a closed stdout or a full disk must not take the router down
