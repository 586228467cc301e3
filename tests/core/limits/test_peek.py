"""Peeking at a limiter: what each algorithm reports, and that a peek never changes what the
limiter does next."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jairouter.config.limits import RateLimitConfig
from jairouter.core.limits import (
    AdaptiveLimiter,
    ConcurrencyLimiter,
    LeakyBucket,
    Level,
    Limiter,
    Outcome,
    Permit,
    RateLimiter,
    ScopedLimit,
    SlidingWindow,
    TokenBucket,
    Unit,
    WarmUp,
)
from tests.core.limits.conftest import FakeClock

Build = Callable[[FakeClock], Limiter]

LIMITERS: dict[str, Build] = {
    "token-bucket": lambda c: RateLimiter(TokenBucket(capacity=5, rate=2), c),
    "token-bucket-tokens": lambda c: RateLimiter(TokenBucket(100, 10), c, Unit.TOKENS),
    "leaky-bucket": lambda c: RateLimiter(LeakyBucket(capacity=4, rate=1), c),
    "sliding-window": lambda c: RateLimiter(SlidingWindow(limit=6, window=3), c),
    "sliding-window-tokens": lambda c: RateLimiter(SlidingWindow(50, 2), c, Unit.TOKENS),
    "warm-up": lambda c: RateLimiter(WarmUp(rate=2, warm_up=4), c),
    "concurrency": lambda c: ConcurrencyLimiter(3, c),
    "adaptive": lambda c: AdaptiveLimiter(c, initial_limit=4, min_limit=1, max_limit=8),
}

# One step of traffic: let time pass, acquire a cost, settle or release the n-th permit held.
Step = tuple[str, float, int]
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.floats(0.0, 3.0), st.just(0)),
        st.tuples(st.just("acquire"), st.sampled_from([1.0, 2.0, 7.0, 30.0]), st.just(0)),
        st.tuples(st.just("settle"), st.floats(0.0, 60.0), st.integers(0, 9)),
        st.tuples(st.just("ok"), st.floats(0.0, 2.0), st.integers(0, 9)),
        st.tuples(st.just("dropped"), st.just(0.0), st.integers(0, 9)),
    ),
    max_size=40,
)


def replay(build: Build, steps: list[Step], *, peeking: bool) -> list[object]:
    """Everything the limiter answers to `steps`; with `peeking`, peeks before every step."""
    clock = FakeClock()
    limiter = build(clock)
    held: list[Permit] = []
    seen: list[object] = []
    for action, amount, index in steps:
        if peeking:
            level = limiter.peek()
            assert limiter.peek() == level  # looking twice sees the same
            assert level.available >= 0.0
        if action == "advance":
            clock.advance(amount)
        elif action == "acquire":
            decision = limiter.acquire(amount)
            if isinstance(decision, Permit):
                held.append(decision)
            seen.append((decision.allowed, decision.limit, decision.remaining, decision.reset))
        elif held:
            permit = held[index % len(held)]
            if action == "settle":
                permit.settle(amount)
            else:
                permit.release(Outcome.OK if action == "ok" else Outcome.DROPPED, amount or None)
                held.remove(permit)
        seen.append((limiter.last_used, limiter.held, repr(limiter)))
    return seen


@pytest.mark.parametrize("name", sorted(LIMITERS))
@settings(max_examples=60, deadline=None)
@given(steps=STEPS)
def test_peeking_never_changes_what_the_limiter_answers_next(name: str, steps: list[Step]) -> None:
    build = LIMITERS[name]
    assert replay(build, steps, peeking=True) == replay(build, steps, peeking=False)


def test_token_bucket_shows_tokens_left_and_refills_them_as_time_passes(clock: FakeClock) -> None:
    bucket = RateLimiter(TokenBucket(capacity=5, rate=2), clock)
    assert bucket.peek() == Level(5.0, 5.0)
    for _ in range(3):
        bucket.acquire()
    assert bucket.peek() == Level(5.0, 2.0)
    clock.advance(0.5)
    assert bucket.peek() == Level(5.0, 3.0)
    clock.advance(60)
    assert bucket.peek() == Level(5.0, 5.0)  # never more than the bucket holds


def test_token_units_count_reservations_of_requests_still_running(clock: FakeClock) -> None:
    bucket = RateLimiter(TokenBucket(capacity=100, rate=0.001), clock, Unit.TOKENS)
    permit = bucket.acquire(30)
    assert isinstance(permit, Permit)
    assert bucket.peek().available == pytest.approx(70)
    permit.settle(10)
    permit.release(Outcome.OK)
    assert bucket.peek().available == pytest.approx(90)


def test_leaky_bucket_shows_room_left_above_its_water(clock: FakeClock) -> None:
    bucket = RateLimiter(LeakyBucket(capacity=4, rate=1), clock)
    bucket.acquire(3)
    assert bucket.peek() == Level(4.0, 1.0)
    clock.advance(2)
    assert bucket.peek() == Level(4.0, 3.0)


def test_sliding_window_shows_room_left_as_the_window_rolls(clock: FakeClock) -> None:
    window = RateLimiter(SlidingWindow(limit=10, window=10), clock)  # clock at 1000: a boundary
    for _ in range(4):
        window.acquire()
    assert window.peek() == Level(10.0, 6.0)
    clock.advance(15)  # next window, halfway: the 4 count for half
    assert window.peek() == Level(10.0, 8.0)
    clock.advance(10)  # two windows on: all forgotten
    assert window.peek() == Level(10.0, 10.0)


def test_warm_up_shows_whether_the_next_request_may_go_now(clock: FakeClock) -> None:
    warm = RateLimiter(WarmUp(rate=2, warm_up=4), clock)
    assert warm.peek() == Level(1.0, 1.0)
    warm.acquire()
    assert warm.peek() == Level(1.0, 0.0)
    clock.advance(1.375)  # the first gap from cold
    assert warm.peek() == Level(1.0, 1.0)


def test_concurrency_limits_show_free_slots(clock: FakeClock) -> None:
    slots = ConcurrencyLimiter(3, clock)
    permit = slots.acquire()
    assert slots.peek() == Level(3.0, 2.0)
    assert isinstance(permit, Permit)
    permit.release(Outcome.OK)
    assert slots.peek() == Level(3.0, 3.0)
    adaptive = AdaptiveLimiter(clock, initial_limit=4)
    adaptive.acquire(3)
    assert adaptive.peek() == Level(4.0, 1.0)


def test_a_scoped_limit_peeks_at_keys_without_creating_them(clock: FakeClock) -> None:
    config = RateLimitConfig(algorithm="token-bucket", capacity=5, rate=1, scope="client")
    limit = ScopedLimit(config, clock)
    limit.limiter(client="a").acquire(2)
    assert limit.peek("a") == Level(5.0, 3.0)
    assert limit.peek("never-seen") == Level(5.0, 5.0)
    assert limit.keys == 1
