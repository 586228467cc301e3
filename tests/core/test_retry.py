from __future__ import annotations

import random

import pytest

from jairouter.core.retry import RetryBudget, backoff, retry_after_seconds


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_budget_allows_the_floor_when_quiet() -> None:
    clock = Clock()
    budget = RetryBudget(20, 0.5, window=10, clock=clock)  # floor: 5 retries per 10 s
    assert [budget.try_retry() for _ in range(6)] == [True] * 5 + [False]


def test_budget_grows_with_traffic_and_caps_extra_load() -> None:
    clock = Clock()
    budget = RetryBudget(20, 0.0, window=10, clock=clock)
    for _ in range(100):
        budget.record_request()
    allowed = sum(budget.try_retry() for _ in range(50))
    assert allowed == 20  # 20 % of 100 requests


def test_budget_forgets_old_requests_and_retries() -> None:
    clock = Clock()
    budget = RetryBudget(50, 0.0, window=10, clock=clock)
    for _ in range(10):
        budget.record_request()
    assert sum(budget.try_retry() for _ in range(10)) == 5
    clock.now += 11  # the whole window has passed
    assert not budget.try_retry()
    budget.record_request()
    budget.record_request()
    assert budget.try_retry()


def test_backoff_is_jittered_below_the_doubling_cap() -> None:
    rng = random.Random(7)
    waits = [backoff(n, 0.1, 0.5, rng) for n in (1, 2, 3, 4) for _ in range(200)]
    assert all(0 <= w <= 0.5 for w in waits)
    assert max(backoff(1, 0.1, 0.5, rng) for _ in range(200)) <= 0.1
    assert max(waits[600:]) > 0.4  # attempt 4 may wait up to the cap


@pytest.mark.parametrize(
    ("header", "seconds"), [("3", 3.0), (" 1.5 ", 1.5), ("-1", None), ("Wed, 21 Oct 2015", None)]
)
def test_retry_after(header: str, seconds: float | None) -> None:
    assert retry_after_seconds(header) == seconds
