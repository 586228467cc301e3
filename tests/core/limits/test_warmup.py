"""Warm-up against Guava's own numbers (RateLimiterTest.testWarmUp*), as a try-acquire.

Guava's tests block in acquire() and log each wait ("R1.38"); here a rejected try-acquire is
retried after exactly its retry_after, so the gaps between grants are those waits.
"""

from __future__ import annotations

import pytest

from jairouter.core.limits import Permit, RateLimiter, Rejection, WarmUp
from jairouter.core.limits.warmup import WarmUpState
from tests.core.limits.conftest import FakeClock


def gaps(limiter: RateLimiter[WarmUpState], clock: FakeClock, count: int) -> list[float]:
    """Seconds waited before each of `count` grants, retrying each refusal when it says."""
    waits = []
    for _ in range(count):
        start = clock.now
        decision = limiter.acquire()
        while isinstance(decision, Rejection):
            assert decision.retry_after is not None
            assert decision.retry_after > 0
            clock.advance(decision.retry_after)
            decision = limiter.acquire()
        waits.append(clock.now - start)
    return waits


def test_the_maths_of_rate_2_warm_up_4_cold_factor_3() -> None:
    warm = WarmUp(rate=2.0, warm_up=4.0, cold_factor=3.0)
    assert warm.stable == 0.5
    assert warm.threshold == 4.0  # 0.5 * 4 / 0.5
    assert warm.max_permits == 8.0  # 4 + 2 * 4 / (0.5 + 1.5)
    assert warm.slope == 0.25  # (1.5 - 0.5) / (8 - 4)
    # The first permit from cold spans 7..8 stored: (1.5 + 1.25) / 2 s.
    assert warm.stored_cost(8.0, 1.0) == 1.375
    # Taking all 8 at once costs the trapezoid (warm_up) plus the flat part (warm_up / 2).
    assert warm.stored_cost(8.0, 8.0) == 6.0


def test_cold_start_ramp_then_cold_again_after_idle(clock: FakeClock) -> None:
    limiter = RateLimiter(WarmUp(rate=2.0, warm_up=4.0, cold_factor=3.0), clock)
    cold_ramp = [0.0, 1.375, 1.125, 0.875, 0.625, 0.5, 0.5, 0.5]  # R0.00, R1.38, R1.13, …
    assert gaps(limiter, clock, 8) == pytest.approx(cold_ramp)
    clock.advance(0.5 + 4.0)  # U0.50 pays for the last grant, U4.00 is a warm-up's idleness
    assert gaps(limiter, clock, 8) == pytest.approx(cold_ramp)
    clock.advance(0.5 + 2.0)  # only half a warm-up idle: not cold again
    assert gaps(limiter, clock, 8) == pytest.approx([0.0] + [0.5] * 7)


def test_cold_factor_10(clock: FakeClock) -> None:
    limiter = RateLimiter(WarmUp(rate=5.0, warm_up=4.0, cold_factor=10.0), clock)
    # Guava: R0.00, R1.75, R1.26, R0.76, R0.30, R0.20, R0.20, R0.20 (rounded to 10 ms).
    cold_ramp = [0.0, 1.75, 1.26, 0.76, 0.30, 0.20, 0.20, 0.20]
    assert gaps(limiter, clock, 8) == pytest.approx(cold_ramp, abs=0.005)
    clock.advance(0.2 + 4.0)
    assert gaps(limiter, clock, 8) == pytest.approx(cold_ramp, abs=0.005)
    clock.advance(0.2 + 1.0)
    assert gaps(limiter, clock, 8) == pytest.approx([0.0] + [0.2] * 7)


def test_cold_factor_1_is_a_smooth_rate(clock: FakeClock) -> None:
    limiter = RateLimiter(WarmUp(rate=5.0, warm_up=4.0, cold_factor=1.0), clock)
    assert gaps(limiter, clock, 8) == pytest.approx([0.0] + [0.2] * 7)


def test_rejection_and_permit_headers(clock: FakeClock) -> None:
    limiter = RateLimiter(WarmUp(rate=2.0, warm_up=4.0), clock)
    permit = limiter.acquire()
    assert isinstance(permit, Permit)
    assert (permit.limit, permit.remaining, permit.reset) == (2, 0, 1.375)
    clock.advance(1.0)
    rejection = limiter.acquire()
    assert isinstance(rejection, Rejection)
    assert (rejection.limit, rejection.remaining) == (2, 0)
    assert rejection.retry_after == pytest.approx(0.375)
    assert rejection.reset == pytest.approx(0.375)


def test_a_big_request_goes_at_once_and_the_next_one_pays(clock: FakeClock) -> None:
    limiter = RateLimiter(WarmUp(rate=1.0, warm_up=2.0, cold_factor=1.0), clock)
    assert isinstance(limiter.acquire(cost=10), Permit)
    rejection = limiter.acquire()
    assert isinstance(rejection, Rejection)
    assert rejection.retry_after == pytest.approx(10.0)
