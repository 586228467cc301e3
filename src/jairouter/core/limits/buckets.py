"""Token bucket and leaky bucket: a burst up to the bucket's size, then a steady rate.

Both admit exactly the same traffic (a leaky bucket used as a meter is a token bucket seen from
the other side); they differ in what they store. The token bucket keeps the tokens left and when
it last refilled; the leaky bucket keeps one number, the time its water will have drained
(GCRA's "theoretical arrival time"), which is the cheapest state to share between processes.
Neither queues: a request that does not fit now is rejected with the wait that would make it fit.
"""

from __future__ import annotations

from jairouter.core.limits.permits import EPSILON


class BucketState:
    """Tokens left (negative while in debt from an undercharged settle) and the last refill."""

    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp

    def __repr__(self) -> str:
        return f"BucketState(tokens={self.tokens:g}, stamp={self.stamp:g})"


class TokenBucket:
    """Holds up to `capacity` tokens, refilled at `rate` per second; a request spends `cost`.

    Starts full, so a burst of `capacity` passes at once, then `rate` per second. Settling a
    request to more than it reserved may leave the bucket below zero: that debt is paid back
    from the refill before anything else passes, so real usage never outruns the limit for long.
    """

    __slots__ = ("capacity", "limit", "rate")

    def __init__(self, capacity: float, rate: float) -> None:
        if capacity <= 0 or rate <= 0:
            raise ValueError("token bucket needs capacity > 0 and rate > 0")
        self.capacity = float(capacity)
        self.rate = rate
        self.limit = int(capacity)

    def fresh(self, now: float) -> BucketState:
        return BucketState(self.capacity, now)

    def sync(self, state: BucketState, now: float) -> None:
        if now > state.stamp:
            state.tokens = self.available(state, now)
            state.stamp = now

    def available(self, state: BucketState, now: float) -> float:
        if now <= state.stamp:
            return state.tokens
        tokens = state.tokens + (now - state.stamp) * self.rate
        return tokens if tokens < self.capacity else self.capacity

    def wait(self, state: BucketState, now: float, cost: float) -> float | None:
        if cost > self.capacity + EPSILON:
            return None
        short = cost - state.tokens
        return 0.0 if short <= EPSILON else short / self.rate

    def take(self, state: BucketState, now: float, cost: float) -> float:
        state.tokens -= cost
        return 0.0

    def adjust(self, state: BucketState, now: float, delta: float, mark: float) -> None:
        tokens = state.tokens - delta
        state.tokens = tokens if tokens < self.capacity else self.capacity

    def standing(self, state: BucketState, now: float) -> tuple[float, float]:
        tokens = state.tokens
        missing = self.capacity - tokens
        return tokens, (missing / self.rate if missing > 0.0 else 0.0)

    def __repr__(self) -> str:
        return f"TokenBucket(capacity={self.capacity:g}, rate={self.rate:g})"


class DrainState:
    """When the bucket will be empty if nothing more is poured in."""

    __slots__ = ("empty_at",)

    def __init__(self, empty_at: float) -> None:
        self.empty_at = empty_at

    def __repr__(self) -> str:
        return f"DrainState(empty_at={self.empty_at:g})"


class LeakyBucket:
    """A bucket of `capacity` that leaks `rate` units per second; a request pours in `cost`.

    A request that would overflow the bucket is rejected (a meter, not a queue). The water level
    is (empty_at - now) * rate, so leaking costs no work at all: time does it.
    """

    __slots__ = ("capacity", "limit", "rate")

    def __init__(self, capacity: float, rate: float) -> None:
        if capacity <= 0 or rate <= 0:
            raise ValueError("leaky bucket needs capacity > 0 and rate > 0")
        self.capacity = float(capacity)
        self.rate = rate
        self.limit = int(capacity)

    def fresh(self, now: float) -> DrainState:
        return DrainState(now)

    def sync(self, state: DrainState, now: float) -> None:
        if state.empty_at < now:
            state.empty_at = now  # an empty bucket stays empty; no credit for idle time

    def level(self, state: DrainState, now: float) -> float:
        """Units in the bucket now."""
        return max(0.0, state.empty_at - now) * self.rate

    def wait(self, state: DrainState, now: float, cost: float) -> float | None:
        if cost > self.capacity + EPSILON:
            return None
        over = self.level(state, now) + cost - self.capacity
        return 0.0 if over <= EPSILON else over / self.rate

    def take(self, state: DrainState, now: float, cost: float) -> float:
        state.empty_at += cost / self.rate
        return 0.0

    def adjust(self, state: DrainState, now: float, delta: float, mark: float) -> None:
        state.empty_at = max(now, state.empty_at + delta / self.rate)

    def standing(self, state: DrainState, now: float) -> tuple[float, float]:
        ahead = state.empty_at - now  # synced: never below zero
        return self.capacity - ahead * self.rate, ahead

    def available(self, state: DrainState, now: float) -> float:
        return self.capacity - self.level(state, now)

    def __repr__(self) -> str:
        return f"LeakyBucket(capacity={self.capacity:g}, rate={self.rate:g})"
