"""Warm-up: a smooth rate that starts slow after idleness and ramps up under steady use.

Guava's SmoothWarmingUp (SmoothRateLimiter.java), the same maths as a non-blocking try-acquire.
Idle time is stored as "permits", up to `max_permits`; spending a stored permit costs the
interval the curve below gives at that level, a fresh permit costs the stable interval:

    interval
      cold  +                  /         cold interval = stable interval * cold_factor
            |                 / .
            |                /  .        area of the trapezoid = warm_up seconds
     stable +---------------/   .
            |               .   .
          0 +---------------+---+----→ stored permits
            0       threshold   max_permits

    threshold   = 0.5 * warm_up / stable           (half the warm-up at the stable rate)
    max_permits = threshold + 2 * warm_up / (stable + cold)
    slope       = (cold - stable) / (max_permits - threshold)

Idle time refills the store at max_permits / warm_up per second, so `warm_up` seconds of
idleness make it cold again. A request is granted when the next free moment has come; the wait
its permits cost then pushes that moment forward for whoever comes next (Guava lets the current
request go at once and makes the next one pay, so a single big request is never stuck).

For rate 2/s, warm_up 4 s, cold_factor 3 from cold, the gaps between grants are 1.375, 1.125,
0.875, 0.625 s and then 0.5 s, as in Guava's RateLimiterTest.testWarmUp.
"""

from __future__ import annotations

import math


class WarmUpState:
    """Stored (idle) permits and the moment the next request may be granted."""

    __slots__ = ("next_free", "stored")

    def __init__(self, stored: float, next_free: float) -> None:
        self.stored = stored
        self.next_free = next_free

    def __repr__(self) -> str:
        return f"WarmUpState(stored={self.stored:g}, next_free={self.next_free:g})"


class WarmUp:
    """`rate` permits per second once warm; `warm_up` seconds from cold to warm."""

    __slots__ = (
        "capacity",
        "cold_factor",
        "limit",
        "max_permits",
        "rate",
        "slope",
        "stable",
        "threshold",
        "warm_up",
    )

    def __init__(self, rate: float, warm_up: float, cold_factor: float = 3.0) -> None:
        if rate <= 0 or warm_up <= 0 or cold_factor < 1:
            raise ValueError("warm-up needs rate > 0, warm_up > 0 and cold_factor >= 1")
        self.rate = rate
        self.warm_up = warm_up
        self.cold_factor = cold_factor
        self.stable = stable = 1.0 / rate
        cold = stable * cold_factor
        self.threshold = 0.5 * warm_up / stable
        self.max_permits = self.threshold + 2.0 * warm_up / (stable + cold)
        self.slope = (cold - stable) / (self.max_permits - self.threshold)
        self.limit = max(1, math.ceil(rate))  # requests per second once warm
        # No burst: one request at a time, each pushing back the next free moment.
        self.capacity = 1.0

    def fresh(self, now: float) -> WarmUpState:
        return WarmUpState(self.max_permits, now)  # starts cold, as Guava's does

    def sync(self, state: WarmUpState, now: float) -> None:
        if now > state.next_free:
            idle_permits = (now - state.next_free) * self.max_permits / self.warm_up
            state.stored = min(self.max_permits, state.stored + idle_permits)
            state.next_free = now

    def wait(self, state: WarmUpState, now: float, cost: float) -> float | None:
        return max(0.0, state.next_free - now)

    def take(self, state: WarmUpState, now: float, cost: float) -> float:
        from_store = min(cost, state.stored)
        state.next_free += self.stored_cost(state.stored, from_store)
        state.next_free += (cost - from_store) * self.stable
        state.stored -= from_store
        return 0.0

    def stored_cost(self, stored: float, take: float) -> float:
        """Seconds that `take` stored permits cost: the area under the curve they span."""
        above = stored - self.threshold
        seconds = 0.0
        if above > 0:
            on_slope = min(above, take)
            # Trapezoid under the climbing line between the two heights.
            top, bottom = self.interval_at(above), self.interval_at(above - on_slope)
            seconds = on_slope * (top + bottom) / 2.0
            take -= on_slope
        return seconds + take * self.stable

    def interval_at(self, permits_above_threshold: float) -> float:
        return self.stable + permits_above_threshold * self.slope

    def adjust(self, state: WarmUpState, now: float, delta: float, mark: float) -> None:
        # Charged or refunded as fresh permits: the slope's share cannot be recovered exactly.
        state.next_free = max(now, state.next_free + delta * self.stable)

    def standing(self, state: WarmUpState, now: float) -> tuple[float, float]:
        ahead = state.next_free - now
        return (1.0, 0.0) if ahead <= 0 else (0.0, ahead)

    def available(self, state: WarmUpState, now: float) -> float:
        return 1.0 if state.next_free <= now else 0.0

    def __repr__(self) -> str:
        return (
            f"WarmUp(rate={self.rate:g}, warm_up={self.warm_up:g}, "
            f"cold_factor={self.cold_factor:g})"
        )
