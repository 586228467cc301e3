"""`GET /admin/status/stream`: the status snapshot as Server-Sent Events, one `data:` event per
interval, for `jairouter top` and dashboards.

Watchers share snapshots: one is built at most once per interval however many clients watch,
so watching never costs request handling more than one snapshot a second. A stream ends when
its client goes away (Starlette cancels it) and when the server starts draining (`draining`
is set), so uvicorn's graceful shutdown is not held up by it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson

from jairouter.server.admin_errors import AdminError

DEFAULT_INTERVAL = 1.0
MIN_INTERVAL, MAX_INTERVAL = 0.1, 60.0
RETRY_MS = 1000  # how soon an EventSource client reconnects after the stream ends


class StatusFeed:
    """Serialized snapshots from `build`, rebuilt only when the last one is older than the
    asking watcher's interval (one build at a time: with several workers it asks them all)."""

    def __init__(
        self,
        build: Callable[[], Awaitable[object]],
        draining: asyncio.Event,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._build = build
        self._draining = draining
        self._clock = clock
        self._built_at = float("-inf")
        self._latest = b""
        self._building = asyncio.Lock()

    async def current(self, max_age: float) -> bytes:
        """The latest snapshot as JSON, built anew when it is `max_age` seconds old or more."""
        async with self._building:
            now = self._clock()
            if now - self._built_at >= max_age:
                self._latest = orjson.dumps(await self._build())
                self._built_at = now
        return self._latest

    async def events(self, interval: float) -> AsyncIterator[bytes]:
        """SSE frames every `interval` seconds until the server drains (or the client leaves)."""
        yield b"retry: %d\n\n" % RETRY_MS
        while not self._draining.is_set():
            yield b"data: " + await self.current(interval) + b"\n\n"
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._draining.wait()


def stream_interval(raw: str | None) -> float:
    """The `interval` query parameter in seconds (400 when it is not a number in range)."""
    if raw is None:
        return DEFAULT_INTERVAL
    try:
        interval = float(raw)
    except ValueError:
        interval = float("nan")
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        message = (
            f"interval={raw!r}: give the seconds between events, "
            f"a number from {MIN_INTERVAL:g} to {MAX_INTERVAL:g}"
        )
        raise AdminError(400, message, "invalid_interval")
    return interval
