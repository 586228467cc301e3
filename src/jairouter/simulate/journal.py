"""What a simulated server received: the last N requests and how each ended.

Written on the server's event loop, read from tests on any thread (a `ServerThread` runs the server
in its own thread), so every access takes one lock and waiting uses a condition, not sleeps.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from multidict import MultiDict


@dataclass(frozen=True, slots=True)
class Upload:
    """A file part of a multipart request, summarised so tests can check it arrived intact."""

    filename: str | None
    content_type: str
    size: int
    sha256: str  # hex digest of the bytes received


@dataclass(slots=True)
class JournalEntry:
    """One request. `json`/`form` are filled when the handler reads the body."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # case-insensitive, as received
    body: bytes = b""  # raw JSON body; empty for multipart and bodiless requests
    json: Any = None
    form: MultiDict[str | Upload] = field(default_factory=MultiDict)
    status: int | None = None  # the status answered, once known
    completed: bool = False  # the whole answer was handed to the transport
    disconnected: bool = False  # the exchange ended early: client gone or server stopping
    # Which `clear()` period it arrived in: an older request ending later is not in the totals.
    epoch: int = field(default=0, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.completed or self.disconnected


class Journal:
    """The last `size` requests, oldest first, plus running totals since the last `clear()`."""

    def __init__(self, size: int = 100) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        # An RLock-backed condition, so predicates passed to wait_until may read properties.
        self._changed = threading.Condition()
        self._received = 0
        self._completed = 0
        self._disconnected = 0
        self._epoch = 0
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    # -- written by the server -------------------------------------------------------------

    def open(self, entry: JournalEntry) -> JournalEntry:
        with self._changed:
            entry.epoch = self._epoch
            self._entries.append(entry)
            self._received += 1
            self._notify()
        return entry

    def finish(self, entry: JournalEntry, *, status: int | None, completed: bool) -> None:
        """Records how `entry` ended; the first call wins."""
        with self._changed:
            if entry.finished:
                return
            entry.status = status if status is not None else entry.status
            counted = entry.epoch == self._epoch
            if completed:
                entry.completed = True
                self._completed += counted
            else:
                entry.disconnected = True
                self._disconnected += counted
            self._notify()

    # -- read by tests ---------------------------------------------------------------------

    @property
    def entries(self) -> list[JournalEntry]:
        with self._changed:
            return list(self._entries)

    @property
    def last(self) -> JournalEntry:
        with self._changed:
            if not self._entries:
                raise LookupError("the journal is empty: no request reached this server")
            return self._entries[-1]

    @property
    def received(self) -> int:
        return self._received

    @property
    def completed(self) -> int:
        return self._completed

    @property
    def disconnected(self) -> int:
        """Requests whose answer was cut short (the client went away mid-answer)."""
        return self._disconnected

    def clear(self) -> None:
        """Forgets entries and totals; requests still running count nowhere when they end, so
        a test that clears sees only its own requests even if an earlier one ends late."""
        with self._changed:
            self._epoch += 1
            self._entries.clear()
            self._received = self._completed = self._disconnected = 0

    def wait_until(self, predicate: Callable[[Journal], bool], timeout: float = 5.0) -> None:
        """Blocks until `predicate(journal)` holds; raises TimeoutError after `timeout` seconds.

        For threads that do not run the server (e.g. a test beside a `ServerThread`); coroutines
        use `wait_until_async`.
        """
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout):
                raise TimeoutError(f"journal condition not met within {timeout}s")

    async def wait_until_async(self, predicate: Callable[[Journal], bool]) -> None:
        """Waits until `predicate(journal)` holds; bound it with `asyncio.timeout`.

        Works whichever loop or thread runs the server: every change wakes the waiter's loop.
        """
        loop = asyncio.get_running_loop()
        while True:
            changed = asyncio.Event()
            waiter = (loop, changed)
            with self._changed:
                if predicate(self):
                    return
                self._waiters.add(waiter)
            try:
                await changed.wait()
            finally:
                with self._changed:
                    self._waiters.discard(waiter)

    def _notify(self) -> None:
        """Wakes every waiter; called with the lock held."""
        self._changed.notify_all()
        for loop, changed in self._waiters:
            loop.call_soon_threadsafe(changed.set)
