from __future__ import annotations

import pytest

from jairouter.core.limits import Permit, RateLimiter, Rejection, SlidingWindow
from jairouter.core.limits.window import WindowState
from tests.core.limits.conftest import FakeClock

WINDOW_START = 600.0  # a multiple of 60: windows are aligned to the clock


@pytest.fixture
def aligned() -> FakeClock:
    return FakeClock(WINDOW_START)


def per_minute(clock: FakeClock, limit: int = 10) -> RateLimiter[WindowState]:
    return RateLimiter(SlidingWindow(limit, 60.0), clock)


def take(limiter: RateLimiter[WindowState], times: int) -> list[bool]:
    return [isinstance(limiter.acquire(), Permit) for _ in range(times)]


def test_allows_the_limit_within_one_window(aligned: FakeClock) -> None:
    limiter = per_minute(aligned)
    assert take(limiter, 11) == [True] * 10 + [False]


def test_a_burst_at_the_end_of_a_window_still_counts_after_the_boundary(
    aligned: FakeClock,
) -> None:
    limiter = per_minute(aligned)
    aligned.advance(59.0)
    assert take(limiter, 10) == [True] * 10
    aligned.advance(1.0)  # the next window begins; a fixed window would allow 10 more here
    assert take(limiter, 1) == [False]
    aligned.advance(30.0)  # half the previous window still overlaps: 10 * 0.5 = 5 counted
    assert take(limiter, 6) == [True] * 5 + [False]


def test_weighted_count_and_headers(aligned: FakeClock) -> None:
    limiter = per_minute(aligned)
    take(limiter, 10)
    aligned.advance(60.0 + 30.0)  # 30 s into the next window: previous 10 weigh 5
    permit = limiter.acquire()
    assert isinstance(permit, Permit)
    assert (permit.limit, permit.remaining) == (10, 4)  # 5 + 1 counted
    # The current window's request still weighs in until the end of the next window.
    assert permit.reset == pytest.approx(30.0 + 60.0)


def test_retry_after_waits_for_the_previous_window_to_fade(aligned: FakeClock) -> None:
    limiter = per_minute(aligned)
    take(limiter, 10)
    aligned.advance(60.0 + 30.0)
    take(limiter, 5)  # 10 * 0.5 + 5 = 10: full
    rejection = limiter.acquire()
    assert isinstance(rejection, Rejection)
    # Fits when 10 * (1 - f) + 5 + 1 <= 10, i.e. at f = 0.6: 36 s in, 6 s from now.
    assert rejection.retry_after == pytest.approx(6.0)
    aligned.advance(5.9)
    assert take(limiter, 1) == [False]
    aligned.advance(0.1)
    assert take(limiter, 1) == [True]


def test_retry_after_past_the_window_when_the_current_one_is_full(aligned: FakeClock) -> None:
    limiter = per_minute(aligned)
    aligned.advance(20.0)
    take(limiter, 10)
    rejection = limiter.acquire()
    assert isinstance(rejection, Rejection)
    # Next window starts in 40 s with 10 weighing fully; 1 fits once they weigh 9: 6 s later.
    assert rejection.retry_after == pytest.approx(46.0)
    assert rejection.reset == pytest.approx(100.0)
    aligned.advance(45.9)
    assert take(limiter, 1) == [False]
    aligned.advance(0.1)
    assert take(limiter, 1) == [True]


def test_a_whole_idle_window_forgets_the_previous_count(aligned: FakeClock) -> None:
    limiter = per_minute(aligned)
    take(limiter, 10)
    aligned.advance(120.0)
    assert take(limiter, 11) == [True] * 10 + [False]


@pytest.mark.parametrize("window", [0.25, 1.0, 7.5, 3600.0])
def test_windows_of_any_length(window: float) -> None:
    clock = FakeClock(window * 1000)
    limiter = RateLimiter(SlidingWindow(3, window), clock)
    assert take(limiter, 4) == [True, True, True, False]
    clock.advance(window * 2)
    assert take(limiter, 4) == [True, True, True, False]


def test_cost_above_the_limit_never_fits(aligned: FakeClock) -> None:
    rejection = per_minute(aligned).acquire(cost=11)
    assert isinstance(rejection, Rejection)
    assert rejection.retry_after is None


def test_refunds_go_back_to_the_window_charged(aligned: FakeClock) -> None:
    limiter = RateLimiter(SlidingWindow(100, 60.0), aligned)
    permit = limiter.acquire(cost=50)
    assert isinstance(permit, Permit)
    permit.settle(20)  # same window
    assert limiter.state.current == 20
    aligned.advance(60.0)
    permit.settle(10)  # charged in what is now the previous window
    assert (limiter.state.previous, limiter.state.current) == (10, 0)
    aligned.advance(120.0)
    permit.settle(0)  # two windows on: it no longer counts anywhere
    assert (limiter.state.previous, limiter.state.current) == (0, 0)
    permit.settle(40)  # a late overcharge counts now
    assert limiter.state.current == 40
