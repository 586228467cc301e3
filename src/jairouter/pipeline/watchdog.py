"""Upstream timeouts of one exchange, first byte, idle and total, kept by one coarse timer.

`asyncio.timeout` around the request, aiohttp's own timer for the total and a second timer for
silences mid-answer were three timer set-ups and tear-downs per request. One timer (`Timers`),
armed at the earliest moment any of the three could run out and re-armed from there, checks them
all; the relay only stamps the time of each chunk.

An expiry before the response headers cancels the exchange's task (like `asyncio.timeout`, and
telling its own cancellation from anyone else's the same way); after them, it closes the
response, so the pending read fails and the relay ends the answer.
"""

from __future__ import annotations

import asyncio
import math

import aiohttp

from jairouter.errors import UpstreamError, UpstreamTimeout
from jairouter.pipeline.timers import Timers
from jairouter.upstream.client import map_upstream_error

FIRST_BYTE, IDLE, TOTAL = "first_byte", "idle", "total"

_NEVER = math.inf


class Watchdog:
    __slots__ = (
        "_cancelling",
        "_first_byte_due",
        "_idle",
        "_resp",
        "_task",
        "_timers",
        "_total_due",
        "expired",
        "last",
        "loop",
        "slot",
        "where",
    )

    def __init__(
        self,
        timers: Timers,
        where: str,
        first_byte: float | None,
        idle: float | None,
        total: float | None,
    ) -> None:
        loop = timers.loop
        task = asyncio.current_task(loop)
        assert task is not None
        now = loop.time()
        self.where = where
        self._timers = timers
        self.loop = loop  # the relay stamps `last` with its time
        self._task = task
        self._cancelling = task.cancelling()
        self._first_byte_due = now + first_byte if first_byte is not None else _NEVER
        self._total_due = now + total if total is not None else _NEVER
        self._idle = idle
        self._resp: aiohttp.ClientResponse | None = None
        self.expired: str | None = None  # FIRST_BYTE, IDLE or TOTAL once one ran out
        self.last = now  # when the upstream last sent something; the relay stamps it
        # The earliest any timeout could run out: an idle period cannot end before start + idle.
        # Comparisons, not min(): a builtin call costs more on every request.
        earliest = now + idle if idle else _NEVER
        if self._first_byte_due < earliest:
            earliest = self._first_byte_due
        if self._total_due < earliest:
            earliest = self._total_due
        self.slot = 0
        if earliest < _NEVER:
            timers.arm(self, earliest)

    def answered(self, resp: aiohttp.ClientResponse) -> None:
        """The response headers are in: from now on silences count, not the first byte."""
        self._resp = resp
        self.last = self.loop.time()

    def _due(self) -> tuple[float, str]:
        if self._resp is None:
            if self._first_byte_due <= self._total_due:
                return self._first_byte_due, FIRST_BYTE
            return self._total_due, TOTAL
        if self._idle is not None and self.last + self._idle < self._total_due:
            return self.last + self._idle, IDLE
        return self._total_due, TOTAL

    def fire(self, now: float) -> None:
        due, which = self._due()
        if due == _NEVER:
            return
        if now < due:
            self._timers.arm(self, due)
            return
        self.expired = which
        if self._resp is None:
            self._task.cancel()
        else:
            self._resp.close()

    def stop(self) -> None:
        self._timers.disarm(self)

    def claims(self, cancelled: asyncio.CancelledError) -> UpstreamTimeout | None:
        """The timeout to raise instead of `cancelled` if this watchdog caused it, and no one
        else cancelled the task too (then the cancellation must go on)."""
        if self.expired is None or self._task.uncancel() > self._cancelling:
            return None
        return self.timeout_error()

    def error(self, exc: BaseException) -> UpstreamError:
        """What a failure while talking to the upstream was: a timeout of ours or `exc` mapped."""
        if self.expired is not None:
            return self.timeout_error()
        return map_upstream_error(exc, self.where)

    def timeout_error(self) -> UpstreamTimeout:
        if self.expired == FIRST_BYTE:
            return UpstreamTimeout(
                f"upstream {self.where} sent no response within timeouts.first_byte"
            )
        if self.expired == IDLE:
            return UpstreamTimeout(f"upstream {self.where} went silent mid-answer")
        return UpstreamTimeout(f"upstream {self.where} exceeded timeouts.total")
