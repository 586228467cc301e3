"""What every limiter answers: a permit to go ahead, or a rejection saying when to come back.

    Limiter.acquire(cost) ─┬─ Permit     allowed; carries limit/remaining/reset for X-RateLimit-*
                           │             headers; released exactly once when the request ends
                           └─ Rejection  refused; carries limit/reset/retry_after for the 429

A permit is released with the request's `Outcome` (and optionally its latency); concurrency and
adaptive limiters learn from that, rate limiters ignore it. Releasing twice is a no-op, so a
cancellation path and a normal path may both release without double counting. A permit may be
settled to its true cost first (`settle`), which token-unit limits use to refund or charge the
difference between the tokens reserved and the tokens the upstream reported using.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import Enum, StrEnum
from typing import NamedTuple, Protocol

Clock = Callable[[], float]
"""Monotonic seconds; injected so tests control time."""

EPSILON = 1e-9
"""Float slack in comparisons: refills computed from fractional seconds land a hair short."""


class Unit(StrEnum):
    """What a limiter counts."""

    REQUESTS = "requests"
    TOKENS = "tokens"


class Outcome(Enum):
    """How the request behind a permit ended, as adaptive limits need to know it."""

    OK = "ok"
    """The upstream answered (any status other than 429 or 5xx); its latency is a sample."""
    DROPPED = "dropped"
    """The upstream refused or failed: 429, 5xx, timeout or unreachable. Shrinks adaptive limits."""
    IGNORED = "ignored"
    """No verdict on the upstream (client went away, router error): frees the slot, no sample."""


# The members the request path compares with, bound to module names. On Python 3.11 reading a
# member off its class (`Outcome.OK`) is never specialised, since an enum's metaclass is not
# `type`: ~1k instructions each time, some twenty times per request.
REQUESTS, TOKENS = Unit.REQUESTS, Unit.TOKENS
OK, DROPPED, IGNORED = Outcome.OK, Outcome.DROPPED, Outcome.IGNORED


def outcome_for_status(status: int) -> Outcome:
    """The outcome an upstream HTTP status stands for: 429 and 5xx mean it is overloaded."""
    return DROPPED if status == 429 or status >= 500 else OK


class _Owner(Protocol):
    """The limiter a permit came from; permits call back into it to settle and release."""

    def _settle(self, permit: Permit, actual: float) -> None: ...

    def _release(self, permit: Permit, outcome: Outcome, latency: float | None) -> None: ...


class Permit:
    """An allowed request. Header values are a snapshot taken when it was granted."""

    __slots__ = (
        "_owner",
        "cost",
        "inflight",
        "limit",
        "mark",
        "pending",
        "released",
        "remaining",
        "reset",
        "started",
        "unit",
    )

    allowed = True

    def __init__(
        self,
        owner: _Owner,
        unit: Unit,
        cost: float,
        limit: int,
        free: float,
        reset: float,
        started: float,
        mark: float = 0.0,
        inflight: int = 0,
        pending: bool = False,
    ) -> None:
        self._owner = owner
        self.unit = unit
        self.cost = cost  # what is charged now; `settle` moves it to the true cost
        self.limit = limit
        # Units left as the header shows them: whole, never negative, not fooled by float fuzz.
        # Floored here, inline, rather than by a helper each limiter would call per grant.
        units = math.floor(free + EPSILON)
        self.remaining = units if units > 0 else 0
        self.reset = reset  # seconds until the limit is back to full
        self.started = started  # clock time granted, for latency when none is given
        self.mark = mark  # algorithm's note on where the cost was charged (sliding window)
        self.inflight = inflight  # requests in flight when granted, this one included (adaptive)
        self.pending = pending  # cost only reserved so far (token units), not yet charged
        self.released = False

    def settle(self, actual: float) -> None:
        """Charge `actual` instead of what was reserved: refunds or charges the difference.

        Setting the same value twice changes nothing. A token-unit permit released unsettled is
        charged its whole reservation. Limiters that count requests in flight ignore it (their
        cost is a slot, not an amount).
        """
        if actual != self.cost or self.pending:
            self._owner._settle(self, actual)

    def release(self, outcome: Outcome, latency: float | None = None) -> None:
        """End the request. `latency` in seconds, else measured from the grant by the clock.

        Only the first call counts. For streamed LLM answers pass the time to the first byte:
        total duration grows with the answer's length, not with the upstream's load.
        """
        if not self.released:
            self.released = True
            self._owner._release(self, outcome, latency)

    def cancel(self) -> None:
        """Undo a permit whose request never went upstream: refund it and free its slot."""
        if not self.released:
            self.settle(0.0)
            self.release(IGNORED)

    def __repr__(self) -> str:
        return (
            f"Permit(cost={self.cost:g}, limit={self.limit}, remaining={self.remaining}, "
            f"reset={self.reset:.3f}, released={self.released})"
        )


class Rejection:
    """A refused request and what its 429 response should say.

    `retry_after` is the seconds until the same request could pass, or None when it never can
    (its cost alone exceeds the limit, e.g. more tokens than a whole TPM budget).
    """

    __slots__ = ("limit", "reset", "retry_after", "unit")

    allowed = False
    remaining = 0

    def __init__(self, unit: Unit, limit: int, reset: float, retry_after: float | None) -> None:
        self.unit = unit
        self.limit = limit
        self.reset = reset
        self.retry_after = retry_after

    def outlasts(self, other: Rejection) -> bool:
        """Whether this rejection asks the client to wait longer than `other` does."""
        if self.retry_after is None:
            return other.retry_after is not None
        return other.retry_after is not None and self.retry_after > other.retry_after

    def __repr__(self) -> str:
        return (
            f"Rejection(limit={self.limit}, reset={self.reset:.3f}, retry_after={self.retry_after})"
        )


Decision = Permit | Rejection


class Level(NamedTuple):
    """What a limiter holds now, as a status display shows it: `available` of `capacity`
    (tokens or permits left, or the room a window has), in the limiter's unit."""

    capacity: float
    available: float


class Limiter(Protocol):
    """One limiter's state for one key (one client, one service, or everything).

    Single-threaded: the router calls it from one event loop, so nothing is locked.
    """

    unit: Unit
    held: int
    """Permits granted and not yet released; a keyed registry does not expire a busy key."""
    last_used: float
    """Clock time of the latest `check` or `acquire`."""

    def check(self, cost: float = 1.0) -> Rejection | None:
        """The rejection `acquire(cost)` would give now, or None if it would allow; takes nothing.

        Once a request's set of limits is refused and what it took is given back, `check` tells
        every limit's wait without taking anything, so the 429 names the longest one
        (combine.py).
        """

    def acquire(self, cost: float = 1.0) -> Permit | Rejection:
        """Take `cost` units if the limit allows it now; never waits."""

    def peek(self) -> Level:
        """Capacity and what is available now, by the clock; for status displays.

        Changes nothing, not even `last_used`: whatever the limiter answers next is what it
        would have answered had nobody looked.
        """
