"""Concurrency: at most `max_concurrent` requests in flight; a slot frees when one ends."""

from __future__ import annotations

from jairouter.core.limits.permits import (
    EPSILON,
    IGNORED,
    Clock,
    Level,
    Outcome,
    Permit,
    Rejection,
    Unit,
)

DEFAULT_SLOT_WAIT = 1.0
"""Retry-After hint, in seconds, before any request has finished to say how long they take."""

LATENCY_WEIGHT = 0.1
"""Weight of the newest latency in the running average behind the Retry-After hint."""


def slot_wait(mean_latency: float, inflight: float) -> float:
    """Seconds until some slot is likely to free: with n requests in flight, each part-way
    through a mean latency, the first of them ends after about latency / n."""
    if mean_latency <= 0:
        return DEFAULT_SLOT_WAIT
    return mean_latency / max(1.0, inflight)


class ConcurrencyLimiter:
    """Caps requests in flight; implements `Limiter`. `cost` is the number of slots taken.

    Headers: limit is `max_concurrent`, remaining the free slots, reset 0 while a slot is free,
    and when full the Retry-After hint from the running mean latency (`slot_wait`).
    """

    __slots__ = ("_clock", "_latency", "held", "inflight", "last_used", "max_concurrent", "unit")

    def __init__(self, max_concurrent: int, clock: Clock) -> None:
        if max_concurrent < 1:
            raise ValueError("concurrency limit needs max_concurrent >= 1")
        self.max_concurrent = max_concurrent
        self._clock = clock
        self.unit = Unit.REQUESTS
        self.inflight = 0.0
        self.held = 0
        self._latency = 0.0  # running mean of finished requests' latency; 0 = none yet
        self.last_used = clock()

    def check(self, cost: float = 1.0) -> Rejection | None:
        self.last_used = self._clock()
        return self._refuse(cost) if self.inflight + cost > self.max_concurrent + EPSILON else None

    def acquire(self, cost: float = 1.0) -> Permit | Rejection:
        now = self.last_used = self._clock()
        if self.inflight + cost > self.max_concurrent + EPSILON:
            return self._refuse(cost)
        self.inflight += cost
        self.held += 1
        limit = self.max_concurrent
        return Permit(self, self.unit, cost, limit, limit - self.inflight, 0.0, now)

    def peek(self) -> Level:
        limit = float(self.max_concurrent)
        return Level(limit, max(0.0, limit - self.inflight))

    def _refuse(self, cost: float) -> Rejection:
        wait = slot_wait(self._latency, self.inflight)
        never = cost > self.max_concurrent + EPSILON
        return Rejection(self.unit, self.max_concurrent, wait, None if never else wait)

    def _settle(self, permit: Permit, actual: float) -> None:
        pass  # slots held do not change with what the request turned out to cost

    def _release(self, permit: Permit, outcome: Outcome, latency: float | None) -> None:
        self.held -= 1
        inflight = self.inflight - permit.cost
        self.inflight = inflight if inflight > 0.0 else 0.0
        if outcome is not IGNORED:
            if latency is None:
                latency = self._clock() - permit.started
            if self._latency:
                self._latency += LATENCY_WEIGHT * (latency - self._latency)
            else:
                self._latency = latency

    def __repr__(self) -> str:
        return f"ConcurrencyLimiter(max={self.max_concurrent}, inflight={self.inflight:g})"
