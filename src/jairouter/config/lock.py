"""Writing a file others read and write: one writer at a time, and never a torn file.

Writers take an exclusive `flock` on a sidecar file (`.jairouter.yaml.lock` beside
`jairouter.yaml`) for their whole read-modify-write, so two edits never interleave and neither is
lost; the new text then replaces the old in one rename, so readers (which take no lock) see the
old file or the new one. The kernel drops the lock when its holder exits, however it exits, so a
left-over lock file never blocks anyone; it is kept rather than deleted, because deleting it
would let a waiter lock a file that a newcomer no longer sees. POSIX only, like the router.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_TIMEOUT = 30.0
"""Seconds a writer waits for another one before giving up; an edit takes milliseconds."""


def lock_path(path: Path) -> Path:
    """The sidecar file locked while `path` is being edited."""
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def locked(path: Path, *, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the exclusive edit lock of `path` (across processes and threads) inside the block.

    Raises `TimeoutError` when another writer holds it for `timeout` seconds, and `OSError` when
    the lock file cannot be created (a missing directory, no permission). Not reentrant.
    """
    sidecar = lock_path(path)
    fd = os.open(sidecar, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        _acquire(fd, sidecar, timeout)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _acquire(fd: int, sidecar: Path, timeout: float) -> None:
    # Polled rather than blocking so a stuck writer ends in an error, not a hang.
    deadline = time.monotonic() + timeout
    pause = 0.002
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                message = f"another writer has held {sidecar} for over {timeout:g}s; try again"
                raise TimeoutError(message) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.05)


def write_atomic(path: Path, text: str, *, overwrite: bool = True) -> None:
    """Write `path` so readers see the old file or the new one, never a torn one.

    The text goes to a temporary file in the same directory, is fsynced, then renamed over
    `path` (keeping its permissions). Without `overwrite` an existing `path` raises
    `FileExistsError` (checked by the atomic link, so no race). New files are readable by their
    owner only: they may hold keys.
    """
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if overwrite:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(temp, path.stat().st_mode)
            os.replace(temp, path)
        else:
            os.link(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make renames and deletions in `directory` durable; a no-op where directories cannot be
    opened (Windows)."""
    if hasattr(os, "O_DIRECTORY"):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
