"""Reloading a running router: watching its config file, SIGHUP, and what the last reload did."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import PurePath
from typing import Any

log = logging.getLogger("jairouter.reload")


class ReloadLog:
    """The outcome of the latest reload, for logs and the status API."""

    def __init__(self) -> None:
        self.generation = 1  # bumped by every applied config (not a file version)
        self.applied_at = time.time()
        self.error: str | None = None  # why the latest attempt was rejected, if it was

    def applied(self) -> None:
        self.generation += 1
        self.applied_at = time.time()
        self.error = None
        log.info("config reloaded (generation %d)", self.generation)

    def failed(self, error: str) -> None:
        self.error = error
        log.error(
            "config reload rejected; still serving generation %d:\n%s", self.generation, error
        )


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


async def watch_file(path: PurePath, on_change: Callable[[], Awaitable[object]]) -> None:
    """Call `on_change` whenever the file at absolute `path` changes. The directory is
    watched, because editors and atomic writers replace a file by renaming another over it."""
    from watchfiles import awatch

    target = str(path)
    async for changes in awatch(str(path.parent), debounce=200, step=50, recursive=False):
        if any(changed == target for _, changed in changes):
            await on_change()


def on_sighup(callback: Callable[[], None]) -> None:
    """Run `callback` on SIGHUP (only possible from the main thread, where servers run)."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGHUP"):
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, callback)
