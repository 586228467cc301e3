from __future__ import annotations

import pytest

from jairouter.core.limits import (
    AdaptiveLimiter,
    ConcurrencyLimiter,
    Outcome,
    Permit,
    Rejection,
    outcome_for_status,
)
from jairouter.core.limits.concurrency import DEFAULT_SLOT_WAIT
from tests.core.limits.conftest import FakeClock


def fill(limiter: ConcurrencyLimiter | AdaptiveLimiter) -> list[Permit]:
    """Acquire until refused; the permits held."""
    permits = []
    while isinstance(decision := limiter.acquire(), Permit):
        permits.append(decision)
    return permits


def test_caps_requests_in_flight(clock: FakeClock) -> None:
    limiter = ConcurrencyLimiter(3, clock)
    permits = fill(limiter)
    assert [p.remaining for p in permits] == [2, 1, 0]
    assert {p.limit for p in permits} == {3}
    permits[0].release(Outcome.OK)
    assert isinstance(limiter.acquire(), Permit)
    assert isinstance(limiter.acquire(), Rejection)


def test_double_release_frees_one_slot(clock: FakeClock) -> None:
    limiter = ConcurrencyLimiter(2, clock)
    first, _ = fill(limiter)
    first.release(Outcome.OK)
    first.release(Outcome.OK)
    first.cancel()
    assert limiter.inflight == 1
    assert len(fill(limiter)) == 1


def test_retry_hint_follows_the_mean_latency(clock: FakeClock) -> None:
    limiter = ConcurrencyLimiter(2, clock)
    permits = fill(limiter)
    rejection = limiter.acquire()
    assert isinstance(rejection, Rejection)
    assert rejection.retry_after == DEFAULT_SLOT_WAIT  # nothing has finished yet
    clock.advance(8.0)
    permits[0].release(Outcome.OK)  # took 8 s, measured by the clock
    fill(limiter)
    rejection = limiter.acquire()
    assert isinstance(rejection, Rejection)
    assert rejection.retry_after == pytest.approx(8.0 / 2)  # one of two should end by then


def test_a_cost_above_the_limit_never_fits(clock: FakeClock) -> None:
    rejection = ConcurrencyLimiter(2, clock).acquire(cost=3)
    assert isinstance(rejection, Rejection)
    assert rejection.retry_after is None


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, Outcome.OK), (400, Outcome.OK), (429, Outcome.DROPPED), (503, Outcome.DROPPED)],
)
def test_outcome_for_status(status: int, outcome: Outcome) -> None:
    assert outcome_for_status(status) is outcome


def cycle(limiter: AdaptiveLimiter, outcome: Outcome, latency: float) -> int:
    """A round at full load: fill the limit, then every request ends the same way."""
    permits = fill(limiter)
    for permit in permits:
        permit.release(outcome, latency)
    return len(permits)


def test_adaptive_grows_while_latency_holds_up_to_max(clock: FakeClock) -> None:
    limiter = AdaptiveLimiter(clock, initial_limit=10, min_limit=2, max_limit=30)
    seen = [cycle(limiter, Outcome.OK, 0.1) for _ in range(12)]
    assert seen[0] == 10
    assert seen == sorted(seen)
    assert seen[-1] == 30
    assert limiter.limit == 30


def test_adaptive_growth_per_sample_is_gradient2s(clock: FakeClock) -> None:
    limiter = AdaptiveLimiter(clock, initial_limit=10, max_limit=100)
    permits = fill(limiter)
    permits[-1].release(Outcome.OK, 0.1)  # 10 in flight: at the limit
    # gradient 1: 10 * 0.8 + (10 * 1 + 4) * 0.2 = 10.8
    assert limiter.limit == 10
    permits[-2].release(Outcome.OK, 0.1)
    assert limiter.limit == 11  # 11.6


def test_adaptive_does_not_grow_when_demand_is_low(clock: FakeClock) -> None:
    limiter = AdaptiveLimiter(clock, initial_limit=10)
    for _ in range(50):
        permit = limiter.acquire()
        assert isinstance(permit, Permit)
        permit.release(Outcome.OK, 0.1)
    assert limiter.limit == 10


def test_adaptive_backs_off_on_drops_down_to_min(clock: FakeClock) -> None:
    limiter = AdaptiveLimiter(clock, initial_limit=20, min_limit=5, max_limit=50)
    permit = limiter.acquire()
    assert isinstance(permit, Permit)
    permit.release(Outcome.DROPPED)
    assert limiter.limit == 18  # int(20 * 0.9)
    limits = []
    for _ in range(20):
        permit = limiter.acquire()
        assert isinstance(permit, Permit)
        permit.release(outcome_for_status(429))
        limits.append(limiter.limit)
    assert limits[:4] == [16, 14, 12, 10]
    assert limits[-1] == 5


def test_adaptive_backs_off_at_least_one_when_small(clock: FakeClock) -> None:
    limiter = AdaptiveLimiter(clock, initial_limit=3, min_limit=1)
    for expected in (2, 1, 1):
        permit = limiter.acquire()
        assert isinstance(permit, Permit)
        permit.release(Outcome.DROPPED)
        assert limiter.limit == expected


@pytest.mark.parametrize(("min_limit", "floor"), [(6, 8), (12, 12)])
def test_adaptive_shrinks_when_latency_rises_within_min(
    clock: FakeClock, min_limit: int, floor: int
) -> None:
    limiter = AdaptiveLimiter(clock, initial_limit=20, min_limit=min_limit, max_limit=20)
    for _ in range(3):
        cycle(limiter, Outcome.OK, 0.1)  # baseline 0.1 s, limit held at max
    assert limiter.limit == 20
    assert limiter.baseline == pytest.approx(0.1)
    permits = fill(limiter)
    permits.pop().release(Outcome.OK, 0.4)
    # gradient clamps to 0.5: 20 * 0.8 + (20 * 0.5 + 4) * 0.2 = 18.8
    assert limiter.limit == 18
    for permit in permits:
        permit.release(Outcome.IGNORED)
    limits = [cycle(limiter, Outcome.OK, 0.4) for _ in range(10)]
    assert limits == sorted(limits, reverse=True)
    # While latency stays at least double the baseline the limit sinks toward
    # queue_size / (1 - 0.5) = 8, or to min_limit if that is higher.
    assert limiter.limit == floor


def test_adaptive_ignored_outcomes_teach_nothing(clock: FakeClock) -> None:
    limiter = AdaptiveLimiter(clock, initial_limit=4)
    permits = fill(limiter)
    for permit in permits:
        permit.release(Outcome.IGNORED)
    assert (limiter.limit, limiter.inflight, limiter.baseline) == (4, 0, 0.0)


def test_adaptive_measures_latency_by_the_clock(clock: FakeClock) -> None:
    limiter = AdaptiveLimiter(clock, initial_limit=2)
    permit = limiter.acquire()
    assert isinstance(permit, Permit)
    clock.advance(2.5)
    permit.release(Outcome.OK)
    assert limiter.baseline == pytest.approx(2.5)


def test_adaptive_headers(clock: FakeClock) -> None:
    limiter = AdaptiveLimiter(clock, initial_limit=2)
    first = limiter.acquire()
    assert isinstance(first, Permit)
    assert (first.limit, first.remaining, first.reset) == (2, 1, 0.0)
    clock.advance(3.0)
    first.release(Outcome.OK)
    fill(limiter)
    rejection = limiter.acquire()
    assert isinstance(rejection, Rejection)
    assert (rejection.limit, rejection.remaining) == (2, 0)
    assert rejection.retry_after == pytest.approx(3.0 / 2)
