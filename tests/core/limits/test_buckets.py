from __future__ import annotations

import random
from typing import Any

import pytest

from jairouter.core.limits import (
    LeakyBucket,
    Outcome,
    Permit,
    RateLimiter,
    Rejection,
    TokenBucket,
    Unit,
)
from tests.core.limits.conftest import FakeClock


def granted(decision: Permit | Rejection) -> Permit:
    assert isinstance(decision, Permit), decision
    return decision


def refused(decision: Permit | Rejection) -> Rejection:
    assert isinstance(decision, Rejection), decision
    return decision


def test_token_bucket_bursts_to_capacity_then_refills_at_rate(clock: FakeClock) -> None:
    bucket = RateLimiter(TokenBucket(capacity=5, rate=2), clock)
    for left in (4, 3, 2, 1, 0):
        assert granted(bucket.acquire()).remaining == left
    refused(bucket.acquire())
    clock.advance(0.5)  # one token back
    assert granted(bucket.acquire()).remaining == 0
    refused(bucket.acquire())
    # Steady state: exactly `rate` per second.
    allowed = 0
    for _ in range(100):
        clock.advance(0.05)
        allowed += isinstance(bucket.acquire(), Permit)
    assert allowed == 10


def test_token_bucket_header_values_at_each_step(clock: FakeClock) -> None:
    bucket = RateLimiter(TokenBucket(capacity=4, rate=2), clock)
    first = granted(bucket.acquire())
    assert (first.limit, first.remaining) == (4, 3)
    assert first.reset == pytest.approx(0.5)
    granted(bucket.acquire(cost=3))
    rejection = refused(bucket.acquire())
    assert (rejection.limit, rejection.remaining) == (4, 0)
    assert rejection.reset == pytest.approx(2.0)  # 4 tokens short at 2/s
    assert rejection.retry_after == pytest.approx(0.5)  # one token
    assert refused(bucket.acquire(cost=3)).retry_after == pytest.approx(1.5)
    clock.advance(0.5)
    again = granted(bucket.acquire())
    assert again.remaining == 0
    assert again.reset == pytest.approx(2.0)


def test_token_bucket_never_admits_a_cost_above_capacity(clock: FakeClock) -> None:
    bucket = RateLimiter(TokenBucket(capacity=10, rate=1), clock)
    rejection = refused(bucket.acquire(cost=11))
    assert rejection.retry_after is None
    assert granted(bucket.acquire(cost=10)).remaining == 0


def test_token_bucket_refill_stops_at_capacity(clock: FakeClock) -> None:
    bucket = RateLimiter(TokenBucket(capacity=3, rate=10), clock)
    clock.advance(3600)
    assert [isinstance(bucket.acquire(), Permit) for _ in range(4)] == [True] * 3 + [False]


def test_double_release_is_a_no_op(clock: FakeClock) -> None:
    bucket = RateLimiter(TokenBucket(capacity=3, rate=1), clock)
    permit = granted(bucket.acquire())
    assert bucket.held == 1
    permit.release(Outcome.OK)
    permit.release(Outcome.OK)
    permit.release(Outcome.DROPPED)
    assert bucket.held == 0
    assert permit.released


def test_allowed_count_never_exceeds_capacity_plus_rate_times_interval() -> None:
    rng = random.Random(20240601)
    for trial in range(20):
        clock = FakeClock()
        capacity, rate = rng.randint(1, 20), rng.uniform(0.5, 50)
        bucket = RateLimiter(TokenBucket(capacity, rate), clock)
        allowed: list[float] = []
        for _ in range(600):
            clock.advance(rng.expovariate(rate * rng.uniform(0.5, 4)))
            for _ in range(rng.choice((1, 1, 1, 5))):  # sometimes a burst at one instant
                if isinstance(bucket.acquire(), Permit):
                    allowed.append(clock.now)
        # Every interval [allowed[i], allowed[j]]: the tightest ones start and end on grants.
        for i in range(len(allowed)):
            for j in range(i, len(allowed)):
                span = allowed[j] - allowed[i]
                assert j - i + 1 <= capacity + rate * span + 1e-6, (trial, i, j)


def test_leaky_bucket_fills_to_capacity_then_drains_at_rate(clock: FakeClock) -> None:
    bucket = RateLimiter(LeakyBucket(capacity=3, rate=1), clock)
    for left in (2, 1, 0):
        assert granted(bucket.acquire()).remaining == left
    rejection = refused(bucket.acquire())
    assert rejection.retry_after == pytest.approx(1.0)
    assert rejection.reset == pytest.approx(3.0)  # the whole bucket drains in 3 s
    clock.advance(1.0)
    granted(bucket.acquire())
    refused(bucket.acquire())
    clock.advance(3.0)
    drained = granted(bucket.acquire())
    assert drained.remaining == 2
    assert drained.reset == pytest.approx(1.0)


def test_leaky_bucket_idle_time_earns_no_credit(clock: FakeClock) -> None:
    bucket = RateLimiter(LeakyBucket(capacity=2, rate=1), clock)
    clock.advance(1000)
    assert [isinstance(bucket.acquire(), Permit) for _ in range(3)] == [True, True, False]


def test_leaky_bucket_rejects_a_cost_larger_than_the_bucket(clock: FakeClock) -> None:
    bucket = RateLimiter(LeakyBucket(capacity=5, rate=1), clock)
    assert refused(bucket.acquire(cost=6)).retry_after is None


@pytest.mark.parametrize("algorithm", [TokenBucket(2, 1), LeakyBucket(2, 1)])
def test_rejections_take_nothing(clock: FakeClock, algorithm: TokenBucket | LeakyBucket) -> None:
    bucket: RateLimiter[Any] = RateLimiter(algorithm, clock)
    granted(bucket.acquire(cost=2))
    for _ in range(50):
        refused(bucket.acquire())
    clock.advance(1.0)
    granted(bucket.acquire())


def test_unit_is_carried_to_permits_and_rejections(clock: FakeClock) -> None:
    bucket = RateLimiter(TokenBucket(100, 10), clock, Unit.TOKENS)
    assert granted(bucket.acquire(60)).unit is Unit.TOKENS
    assert refused(bucket.acquire(60)).unit is Unit.TOKENS
