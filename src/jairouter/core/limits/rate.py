"""Rate limits: an algorithm's maths bound to one key's state and the clock.

This is the seam for sharing limits between router processes. An algorithm (`TokenBucket`,
`LeakyBucket`, `SlidingWindow`, `WarmUp`) holds only its parameters and is shared by every key;
each key's state is a plain object of two or three numbers, created by `algorithm.fresh(now)`
and changed only by the algorithm's methods, each a few lines of arithmetic on (state, now, cost).
`RateLimiter` adds one more number, the units reserved by requests still running. A Redis-backed
store would keep those numbers in a hash and run the same arithmetic in a script; nothing here
has to change for it except where the state lives.

Every grant runs this code: comparisons rather than max()/min() here and in the algorithms (on
Python 3.11 a call of either builtin costs five times a conditional expression), and as few
calls into the algorithm as its answer needs.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from jairouter.core.limits.permits import (
    TOKENS,
    Clock,
    Level,
    Outcome,
    Permit,
    Rejection,
    Unit,
)

S = TypeVar("S")


RESERVED_WAIT = 1.0
"""Retry-After hint, in seconds, when only tokens reserved by running requests are in the way."""


class RateAlgorithm(Protocol[S]):
    """The pure maths of one rate-limiting algorithm over a state object of type S."""

    limit: int
    """The X-RateLimit-Limit value: the most units the limit ever allows at once."""
    capacity: float
    """What `available` counts against: the bucket's size, the window's limit."""

    def fresh(self, now: float) -> S:
        """State for a key never seen before (a full bucket, an empty window)."""

    def sync(self, state: S, now: float) -> None:
        """Bring the state up to `now` (refill, leak, roll the window); changes no meaning."""

    def wait(self, state: S, now: float, cost: float) -> float | None:
        """Seconds until `cost` could be taken (0 for now); None if never. State is synced."""

    def take(self, state: S, now: float, cost: float) -> float:
        """Charge `cost`; returns a mark for `adjust` (where it was charged).

        Checked to fit by `wait` first, except when settling usage: then it may overdraw the
        limit, a debt that later requests wait out.
        """

    def adjust(self, state: S, now: float, delta: float, mark: float) -> None:
        """Charge `delta` more units, or refund -`delta`, for a cost charged at `mark`."""

    def standing(self, state: S, now: float) -> tuple[float, float]:
        """Units that could be taken now, and seconds until the state is back to full (nothing
        charged) if unused; state is synced. One call for both: every grant needs both."""

    def available(self, state: S, now: float) -> float:
        """Units that could be taken at `now`, as if synced, without syncing: a pure read."""


class RateLimiter(Generic[S]):
    """A rate algorithm bound to one key's state and the clock: implements `Limiter`.

    Request units are charged when granted. Token units are only reserved when granted and
    charged when settled to the usage the upstream reports (or to the whole reservation if the
    permit is released unsettled). Reservations are kept beside the algorithm's state and count
    against the limit until settled, so a burst of requests still running cannot overshoot it,
    and tokens a long request reserved are never handed back to a bucket that has refilled
    since (which debiting up front and refunding later would do).
    """

    __slots__ = ("_algorithm", "_clock", "_state", "held", "last_used", "reserved", "unit")

    def __init__(
        self, algorithm: RateAlgorithm[S], clock: Clock, unit: Unit = Unit.REQUESTS
    ) -> None:
        self._algorithm = algorithm
        self._clock = clock
        self.unit = unit
        self.last_used = now = clock()
        self._state = algorithm.fresh(now)
        self.reserved = 0.0  # units granted to requests still running, not yet charged
        self.held = 0

    @property
    def state(self) -> S:
        """This key's state: plain numbers, for inspection and a future shared store."""
        return self._state

    def check(self, cost: float = 1.0) -> Rejection | None:
        now = self.last_used = self._clock()
        self._algorithm.sync(self._state, now)
        wait = self._wait(now, cost)
        return None if wait == 0.0 else self._refuse(now, wait)

    def acquire(self, cost: float = 1.0) -> Permit | Rejection:
        now = self.last_used = self._clock()
        algorithm, state = self._algorithm, self._state
        algorithm.sync(state, now)
        # Request units never reserve, so for them the algorithm alone decides.
        wait = self._wait(now, cost) if self.reserved else algorithm.wait(state, now, cost)
        if wait != 0.0:
            return self._refuse(now, wait)
        pending = self.unit is TOKENS
        if pending:
            self.reserved += cost
            mark = 0.0
        else:
            mark = algorithm.take(state, now, cost)
        self.held += 1
        free, reset = algorithm.standing(state, now)
        free -= self.reserved
        limit = algorithm.limit
        return Permit(self, self.unit, cost, limit, free, reset, now, mark, 0, pending)

    def peek(self) -> Level:
        algorithm = self._algorithm
        free = algorithm.available(self._state, self._clock()) - self.reserved
        return Level(algorithm.capacity, max(0.0, free))

    def _wait(self, now: float, cost: float) -> float | None:
        algorithm, state = self._algorithm, self._state
        if not self.reserved:
            return algorithm.wait(state, now, cost)
        wait = algorithm.wait(state, now, cost + self.reserved)
        if wait is not None:
            return wait
        # It fits the limit alone but not beside the reservations of requests still running;
        # those end when they end, so only a hint can be given.
        alone = algorithm.wait(state, now, cost)
        return None if alone is None else max(alone, RESERVED_WAIT)

    def _refuse(self, now: float, wait: float | None) -> Rejection:
        algorithm = self._algorithm
        reset = algorithm.standing(self._state, now)[1]
        return Rejection(self.unit, algorithm.limit, reset, wait)

    def _settle(self, permit: Permit, actual: float) -> None:
        now = self._clock()
        algorithm, state = self._algorithm, self._state
        algorithm.sync(state, now)
        if permit.pending:
            permit.pending = False
            reserved = self.reserved - permit.cost
            self.reserved = reserved if reserved > 0.0 else 0.0
            permit.mark = algorithm.take(state, now, actual)
        else:
            algorithm.adjust(state, now, actual - permit.cost, permit.mark)
        permit.cost = actual

    def _release(self, permit: Permit, outcome: Outcome, latency: float | None) -> None:
        self.held -= 1
        if permit.pending:  # no usage reported: assume it used all it reserved
            self._settle(permit, permit.cost)

    def __repr__(self) -> str:
        return f"RateLimiter({self._algorithm!r}, {self._state!r}, reserved={self.reserved:g})"
