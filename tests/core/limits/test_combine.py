from __future__ import annotations

import pytest

from jairouter.core.limits import (
    ConcurrencyLimiter,
    Outcome,
    PermitSet,
    RateLimiter,
    Rejection,
    TokenBucket,
    Unit,
    acquire_all,
)
from tests.core.limits.conftest import FakeClock


def allowed(decision: PermitSet | Rejection) -> PermitSet:
    assert isinstance(decision, PermitSet), decision
    return decision


def test_a_refusal_takes_nothing_from_the_others(clock: FakeClock) -> None:
    everyone = RateLimiter(TokenBucket(10, 1), clock)
    client = RateLimiter(TokenBucket(1, 0.1), clock)
    slots = ConcurrencyLimiter(5, clock)
    allowed(acquire_all([(everyone, 1), (client, 1), (slots, 1)]))
    rejection = acquire_all([(everyone, 1), (client, 1), (slots, 1)])
    assert isinstance(rejection, Rejection)
    assert rejection.retry_after == pytest.approx(10.0)
    assert everyone.state.tokens == 9
    assert (slots.inflight, slots.held) == (1, 1)


def test_the_longest_wait_among_the_refusals_is_reported(clock: FakeClock) -> None:
    slow = RateLimiter(TokenBucket(1, 0.1), clock)
    fast = RateLimiter(TokenBucket(1, 2), clock)
    allowed(acquire_all([(fast, 1), (slow, 1)]))
    rejection = acquire_all([(fast, 1), (slow, 1)])
    assert isinstance(rejection, Rejection)
    assert rejection.retry_after == pytest.approx(10.0)
    never = acquire_all([(fast, 1), (slow, 5)])
    assert isinstance(never, Rejection)
    assert never.retry_after is None


def test_headers_come_from_the_tightest_limit_per_unit(clock: FakeClock) -> None:
    everyone = RateLimiter(TokenBucket(100, 1), clock)
    client = RateLimiter(TokenBucket(3, 1), clock)
    tokens = RateLimiter(TokenBucket(10_000, 100), clock, Unit.TOKENS)
    permits = allowed(acquire_all([(everyone, 1), (client, 1), (tokens, 500)]))
    tightest, by_tokens = permits.tightest()
    assert tightest is not None
    assert (tightest.limit, tightest.remaining) == (3, 2)
    assert by_tokens is not None
    assert (by_tokens.limit, by_tokens.remaining) == (10_000, 9_500)


def test_ties_on_remaining_show_the_longer_reset(clock: FakeClock) -> None:
    quick = RateLimiter(TokenBucket(2, 10), clock)
    slow = RateLimiter(TokenBucket(2, 0.5), clock)
    tightest, no_tokens = allowed(acquire_all([(quick, 1), (slow, 1)])).tightest()
    assert no_tokens is None
    assert tightest is not None
    assert tightest.reset == pytest.approx(2.0)


def test_settle_reaches_token_limits_only(clock: FakeClock) -> None:
    requests = RateLimiter(TokenBucket(10, 1), clock)
    tokens = RateLimiter(TokenBucket(1000, 10), clock, Unit.TOKENS)
    permits = allowed(acquire_all([(requests, 1), (tokens, 400)]))
    permits.settle(150)
    permits.release(Outcome.OK)
    assert requests.state.tokens == 9
    assert (tokens.state.tokens, tokens.reserved) == (850, 0)


def test_release_is_once_for_the_set(clock: FakeClock) -> None:
    slots = ConcurrencyLimiter(2, clock)
    other = ConcurrencyLimiter(2, clock)
    permits = allowed(acquire_all([(slots, 1), (other, 1)]))
    allowed(acquire_all([(slots, 1), (other, 1)]))
    permits.release(Outcome.OK)
    permits.release(Outcome.DROPPED)
    assert (slots.inflight, other.inflight) == (1, 1)


def test_a_limiter_listed_twice_is_still_all_or_nothing(clock: FakeClock) -> None:
    slots = ConcurrencyLimiter(1, clock)
    tokens = RateLimiter(TokenBucket(100, 1), clock, Unit.TOKENS)
    rejection = acquire_all([(tokens, 60), (slots, 1), (slots, 1)])
    assert isinstance(rejection, Rejection)
    assert (slots.inflight, slots.held) == (0, 0)
    assert (tokens.reserved, tokens.state.tokens, tokens.held) == (0, 100, 0)


def test_no_limits_allow_everything(clock: FakeClock) -> None:
    permits = allowed(acquire_all([]))
    assert permits.tightest() == (None, None)
    permits.settle(10)
    permits.release(Outcome.OK)
