"""Lines written by a background thread, so a slow disk or a full pipe never stalls the loop.

On the event loop a ready-made line is only appended to a list (no logging.LogRecord, no
Formatter); the list goes to the thread at most every `FLUSH_EVERY` seconds, which writes it
in one go. Handing over every line woke the thread once per request, and the GIL hand-offs
that followed cost more than the lines themselves (~20 us per request at 64 clients).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import queue
import threading
from pathlib import Path

# Writes up to this size are atomic on a pipe, so lines from several workers never interleave.
_PIPE_BUF = 4096
_STREAMS = {"stdout": 1, "stderr": 2}
FLUSH_EVERY = 0.1  # seconds a line may wait on the loop before the thread gets it
# Lines handed to the thread and not yet written. Past this (a stdout nobody reads, a stalled
# disk) new lines are dropped and counted rather than held in memory without bound.
MAX_BACKLOG = 100_000

log = logging.getLogger("jairouter.server")


class _Control(enum.Enum):
    REOPEN = enum.auto()
    STOP = enum.auto()


class LineWriter:
    """Appends lines to stdout, stderr or a file from a thread of its own."""

    def __init__(self, output: str) -> None:
        self.output = output
        self._path = None if output in _STREAMS else Path(output).expanduser()
        self._fd = self._open()
        self._batch: list[bytes] = []
        self._queue: queue.SimpleQueue[list[bytes] | _Control] = queue.SimpleQueue()
        self._backlog = 0  # lines queued for the thread, not yet written
        self._backlog_lock = threading.Lock()  # the loop adds, the thread subtracts
        self.dropped = 0  # lines dropped since the output last kept up
        self._thread = threading.Thread(target=self._run, name="jairouter-access-log", daemon=True)
        self._thread.start()

    def write(self, line: bytes) -> None:
        """Queue one newline-terminated line; returns at once."""
        self._batch.append(line)
        if len(self._batch) > 1:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop to batch on: hand it over now
            self._flush()
            return
        loop.call_later(FLUSH_EVERY, self._flush)

    def _flush(self) -> None:
        if not self._batch:
            return
        batch, self._batch = self._batch, []
        with self._backlog_lock:
            full = self._backlog + len(batch) > MAX_BACKLOG
            if not full:
                self._backlog += len(batch)
        if full:
            if not self.dropped:
                log.warning("access log %s is not keeping up: dropping lines", self.output)
            self.dropped += len(batch)
            return
        if self.dropped:
            log.warning("access log %s caught up; %d lines were dropped", self.output, self.dropped)
            self.dropped = 0
        self._queue.put(batch)

    def reopen(self) -> None:
        """Reopen the file after what is queued, so a rotated log is let go (as nginx -s reopen)."""
        if self._path is not None:
            self._flush()
            self._queue.put(_Control.REOPEN)

    def stop(self) -> None:
        """Hand what is batched to the thread and tell it to stop; returns at once. Call it
        where `write` is called (the loop), then `wait_closed` anywhere."""
        self._flush()
        self._queue.put(_Control.STOP)

    def wait_closed(self) -> None:
        """Block until the thread has written everything (a full pipe may hold it), then close
        the file; off the loop, as in `Observer.close`."""
        self._thread.join()
        if self._path is not None:
            os.close(self._fd)

    def close(self) -> None:
        """Write what is queued, then stop the thread (and close the file); blocks."""
        self.stop()
        self.wait_closed()

    def _open(self) -> int:
        if self._path is None:
            return _STREAMS[self.output]
        return os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            lines: list[bytes] = []
            while isinstance(item, list):
                lines.extend(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            self._write(lines)
            with self._backlog_lock:
                self._backlog -= len(lines)
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
