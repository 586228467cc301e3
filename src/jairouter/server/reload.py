"""Reloading a running router: watching its config file, SIGHUP, and what the last reload did."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from jairouter.config.models import ServerConfig

log = logging.getLogger("jairouter.reload")


APPLIED_LIVE = frozenset({"max_body_size", "trusted_proxies"})
"""The `server.*` settings a reload applies; the others (where it listens) need a restart."""


def restart_needed(listening: ServerConfig, loaded: ServerConfig) -> list[str]:
    """The `server.*` keys of `loaded` that differ from those the process started with and
    that a reload cannot apply."""
    return [
        f"server.{name}"
        for name in ServerConfig.model_fields
        if name not in APPLIED_LIVE and getattr(listening, name) != getattr(loaded, name)
    ]


class ReloadLog:
    """The outcome of the latest reload, for logs and the status API, and which file contents
    the running config came from."""

    def __init__(self) -> None:
        self.generation = 1  # bumped by every applied config (not a file version)
        self.applied_at = time.time()
        self.error: str | None = None  # why the latest attempt was rejected, if it was
        self.restart_needed: list[str] = []  # settings applied only by a restart
        self._source: bytes | None = None  # digest of the file contents served; None: unknown

    def serving(self, contents: bytes | None) -> None:
        """The running config came from a file holding `contents` (None: not from a file)."""
        self._source = _digest(contents) if contents is not None else None

    def is_serving(self, contents: bytes) -> bool:
        """Whether the running config came from a file holding exactly `contents`."""
        return self._source == _digest(contents)

    def applied(self, restart_needed: list[str], contents: bytes | None) -> None:
        self.generation += 1
        self.applied_at = time.time()
        self.error = None
        self.restart_needed = restart_needed
        self.serving(contents)
        if restart_needed:
            log.warning(
                "config reloaded (generation %d), except %s: restart the router to apply %s",
                self.generation,
                ", ".join(restart_needed),
                "it" if len(restart_needed) == 1 else "them",
            )
        else:
            log.info("config reloaded (generation %d)", self.generation)

    def unchanged(self) -> None:
        """The file holds what is served again (e.g. an admin write already applied it, or a
        rejected edit was undone): nothing to reload, and no rejection to report any more."""
        self.error = None
        log.debug("config file unchanged from generation %d: not reloaded", self.generation)

    def failed(self, error: str) -> None:
        self.error = error
        log.error(
            "config reload rejected; still serving generation %d:\n%s", self.generation, error
        )


def _digest(contents: bytes) -> bytes:
    return hashlib.sha256(contents).digest()


class BackgroundTasks:
    """Named background tasks kept referenced until they end, and cancelled on stop."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


RECHECK_SECONDS = 2.0
"""Quiet seconds after which the watched file is read again anyway: a change made before the
watch was in place (or an event the OS dropped) is noticed this late at worst."""


async def watch_file(
    path: Path, on_change: Callable[[bytes], Awaitable[object]], seen: bytes | None
) -> None:
    """Call `on_change` with the contents of the file at absolute `path` whenever they stop
    being `seen` (and then those it was called with).

    Directories are watched, not the file: editors and atomic writers rename another file over
    it, and Kubernetes updates a mounted ConfigMap by re-pointing a `..data` symlink beside it,
    so the file's own entry never changes. Any event there re-reads the file through its
    symlinks, and only new contents count: files coming and going beside it reload nothing.
    """
    from watchfiles import awatch

    async for _ in awatch(
        *_folders(path),
        debounce=200,
        step=50,
        recursive=False,
        rust_timeout=int(RECHECK_SECONDS * 1000),
        yield_on_timeout=True,
    ):
        contents = await asyncio.to_thread(file_contents, path)
        if contents is not None and contents != seen:  # None: mid-swap, or deleted for now
            seen = contents
            await on_change(contents)


def _folders(path: Path) -> set[str]:
    """The file's directory, and its symlink target's (an edit in place happens there)."""
    return {str(path.parent), os.path.dirname(os.path.realpath(path))}


def file_contents(path: Path) -> bytes | None:
    """The file's bytes (through symlinks), or None while it cannot be read."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def on_sighup(callback: Callable[[], None]) -> None:
    """Run `callback` on SIGHUP (only possible from the main thread, where servers run)."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGHUP"):
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, callback)
