from __future__ import annotations

import math
import random
from typing import Any

import pytest

from jairouter.core.limits import (
    LeakyBucket,
    Outcome,
    Permit,
    RateLimiter,
    Rejection,
    SlidingWindow,
    TokenBucket,
    Unit,
    estimate_tokens,
    usage_tokens,
)
from jairouter.core.limits.tokens import MEDIA_TOKENS
from tests.core.limits.conftest import FakeClock


def estimate(payload: dict[str, Any] | None, default: int = 256) -> int:
    return estimate_tokens(payload, default_max_tokens=default)


def test_chat_estimate_is_prompt_characters_over_4_plus_max_tokens() -> None:
    payload = {"model": "m", "messages": [{"role": "user", "content": "x" * 400}], "max_tokens": 50}
    # role + user + content + 400 characters = 415 -> 104 tokens, plus 50 to generate
    assert estimate(payload) == 104 + 50


def test_default_completion_budget_when_max_tokens_is_absent() -> None:
    payload = {"messages": [{"role": "user", "content": "abcd"}]}
    assert estimate(payload, default=1000) == math.ceil(len("roleusercontentabcd") / 4) + 1000


def test_max_completion_tokens_wins_and_n_multiplies() -> None:
    base = {"messages": [], "max_completion_tokens": 100, "max_tokens": 7}
    assert estimate(base) == 100
    assert estimate({**base, "n": 3}) == 300
    assert estimate({"prompt": "", "max_tokens": 10, "n": 2, "best_of": 5}) == 50


@pytest.mark.parametrize("junk", [True, -5, 0, "100", 1.5, None])
def test_unusable_max_tokens_falls_back_to_the_default(junk: object) -> None:
    assert estimate({"messages": [], "max_tokens": junk}, default=64) == 64


def test_media_parts_reserve_a_flat_amount_not_their_base64() -> None:
    parts = [
        {"type": "text", "text": "hi"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 100_000}},
    ]
    payload = {"messages": [{"role": "user", "content": parts}], "max_tokens": 1}
    chars = len("roleusercontenttypetexttexthitypeimage_url")
    assert estimate(payload) == math.ceil(chars / 4) + MEDIA_TOKENS + 1


def test_embeddings_have_no_completion_and_token_ids_count_one_each() -> None:
    assert estimate({"model": "e", "input": ["abcd", "efgh"]}) == 2
    assert estimate({"model": "e", "input": [[1, 2, 3], [4, 5]]}) == 5
    assert estimate({"prompt": [1, 2, 3], "max_tokens": 10}) == 13


def test_tools_count_toward_the_prompt() -> None:
    bare = {"messages": [], "max_tokens": 1}
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    assert estimate({**bare, "tools": tools}) > estimate(bare)


def test_no_body_costs_nothing() -> None:
    assert estimate(None) == 0
    assert estimate({}) == 0


def test_deep_nesting_cannot_exhaust_the_stack() -> None:
    nested: list[Any] = ["abcd"]
    for _ in range(100_000):
        nested = [nested]
    assert estimate({"input": nested}) == 1


@pytest.mark.parametrize(
    ("usage", "tokens"),
    [
        ({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}, 15),
        ({"prompt_tokens": 10, "completion_tokens": 5}, 15),
        ({"prompt_tokens": 10}, 10),
        ({"total_tokens": 0}, 0),
        ({}, None),
        (None, None),
        ({"total_tokens": "15"}, None),
        ({"total_tokens": True}, None),
    ],
)
def test_usage_tokens(usage: dict[str, Any] | None, tokens: int | None) -> None:
    assert usage_tokens(usage) == tokens


def tpm(clock: FakeClock, capacity: int = 1000) -> RateLimiter[Any]:
    return RateLimiter(TokenBucket(capacity, capacity / 60), clock, Unit.TOKENS)


def grant(decision: Permit | Rejection) -> Permit:
    assert isinstance(decision, Permit), decision
    return decision


def test_reservations_stop_a_burst_before_it_overshoots(clock: FakeClock) -> None:
    limiter = tpm(clock)
    running = [grant(limiter.acquire(300)) for _ in range(3)]
    assert [p.remaining for p in running] == [700, 400, 100]
    assert isinstance(limiter.acquire(300), Rejection)  # nothing used yet, but 900 reserved
    for permit in running:
        permit.settle(100)  # each used a third of what it reserved
    assert grant(limiter.acquire(300)).remaining == 400
    grant(limiter.acquire(300))
    assert isinstance(limiter.acquire(300), Rejection)


def test_overcharge_is_a_debt_later_requests_wait_out(clock: FakeClock) -> None:
    limiter = tpm(clock)  # refills 1000 / 60 tokens per second
    permit = grant(limiter.acquire(300))
    permit.settle(1300)  # the answer ran far longer than estimated
    rejection = limiter.acquire(10)
    assert isinstance(rejection, Rejection)
    assert rejection.retry_after == pytest.approx((300 + 10) * 60 / 1000)
    assert rejection.reset == pytest.approx(1300 * 60 / 1000)


def test_release_without_usage_charges_the_whole_reservation(clock: FakeClock) -> None:
    limiter = tpm(clock)
    grant(limiter.acquire(400)).release(Outcome.OK)
    assert limiter.reserved == 0
    assert grant(limiter.acquire(600)).remaining == 0


def test_settle_twice_is_idempotent_and_refunds_after_settling(clock: FakeClock) -> None:
    limiter = tpm(clock)
    permit = grant(limiter.acquire(500))
    permit.settle(200)
    permit.settle(200)
    assert limiter.state.tokens == 800
    permit.settle(100)  # a later, lower count refunds the difference
    permit.release(Outcome.OK)
    permit.release(Outcome.OK)
    assert (limiter.state.tokens, limiter.reserved) == (900, 0)


def test_cancel_returns_the_reservation_uncharged(clock: FakeClock) -> None:
    limiter = tpm(clock)
    permit = grant(limiter.acquire(1000))
    permit.cancel()
    assert (limiter.state.tokens, limiter.reserved, limiter.held) == (1000, 0, 0)


def test_refund_of_a_long_request_is_not_counted_twice(clock: FakeClock) -> None:
    limiter = tpm(clock)
    long_one = grant(limiter.acquire(1000))
    clock.advance(600)  # the bucket would have refilled ten times over
    assert isinstance(limiter.acquire(1), Rejection)  # its reservation still holds the limit
    long_one.settle(0)
    grant(limiter.acquire(1000))
    assert isinstance(limiter.acquire(1), Rejection)


@pytest.mark.parametrize(
    "algorithm", [TokenBucket(1000, 50.0), LeakyBucket(1000, 50.0), SlidingWindow(1000, 20.0)]
)
def test_usage_within_estimates_never_overshoots(algorithm: Any) -> None:
    """Random overlapping requests, each using at most its estimate: the tokens charged in any
    interval stay within what the limit allows in it."""
    rng = random.Random(7)
    clock = FakeClock()
    limiter = RateLimiter(algorithm, clock, Unit.TOKENS)
    running: list[tuple[float, Permit, int]] = []  # (ends at, permit, tokens it will use)
    charged: list[tuple[float, int]] = []
    for _ in range(3000):
        clock.advance(rng.expovariate(2.0))
        for item in [r for r in running if r[0] <= clock.now]:
            running.remove(item)
            item[1].settle(item[2])
            item[1].release(Outcome.OK)
            charged.append((clock.now, item[2]))
        reserve = rng.randint(50, 400)
        decision = limiter.acquire(reserve)
        if isinstance(decision, Permit):
            running.append((clock.now + rng.uniform(0, 60), decision, rng.randint(0, reserve)))
    times = [t for t, _ in charged]
    for i, start in enumerate(times):
        total = 0
        for j in range(i, len(times)):
            total += charged[j][1]
            span = times[j] - start
            if isinstance(algorithm, SlidingWindow):
                allowed = 1000.0 * (math.floor(span / 20.0) + 2)  # any window overlaps two fixed
            else:
                allowed = 1000 + 50.0 * span
            assert total <= allowed + 1e-6
