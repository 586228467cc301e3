from __future__ import annotations

import pytest

from jairouter.config.limits import RateLimitConfig
from jairouter.core.limits import (
    ConcurrencyLimiter,
    KeyedLimiters,
    Limiter,
    Outcome,
    Permit,
    PermitSet,
    RateLimiter,
    Rejection,
    ScopedLimit,
    TokenBucket,
    acquire_scoped,
)
from tests.core.limits.conftest import FakeClock


def keyed(clock: FakeClock, max_entries: int = 3, idle_ttl: float = 60.0) -> KeyedLimiters:
    return KeyedLimiters(
        lambda: ConcurrencyLimiter(1, clock),
        max_entries=max_entries,
        idle_ttl=idle_ttl,
        clock=clock,
    )


def grant(limiter: Limiter) -> Permit:
    decision = limiter.acquire()
    assert isinstance(decision, Permit)
    return decision


def test_same_key_same_limiter(clock: FakeClock) -> None:
    limiters = keyed(clock)
    assert limiters.get("a") is limiters.get("a")
    assert limiters.get("a") is not limiters.get("b")


def test_least_recently_used_key_goes_first(clock: FakeClock) -> None:
    limiters = keyed(clock, max_entries=3)
    a = limiters.get("a")
    limiters.get("b")
    limiters.get("c")
    limiters.get("a")  # a is now the most recent; b the least
    limiters.get("d")
    assert ("a" in limiters, "b" in limiters, "c" in limiters, "d" in limiters) == (
        True,
        False,
        True,
        True,
    )
    assert limiters.get("a") is a


def test_a_flood_of_clients_stays_within_max_entries(clock: FakeClock) -> None:
    limit = ScopedLimit(
        RateLimitConfig(algorithm="token-bucket", capacity=5, rate=1, scope="client"), clock
    )
    for i in range(100_000):
        clock.advance(0.0001)
        limit.limiter(client=f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}").acquire()
        assert limit.keys <= 10_000
    assert limit.keys == 10_000


def test_idle_keys_expire(clock: FakeClock) -> None:
    limiters = keyed(clock, max_entries=100, idle_ttl=60.0)
    for key in "abc":
        limiters.get(key)
    clock.advance(30.0)
    limiters.get("c")
    clock.advance(31.0)
    limiters.get("d")  # a and b idle for 61 s; c for 31 s
    assert sorted(k for k in "abcd" if k in limiters) == ["c", "d"]


def test_busy_keys_do_not_expire_while_permits_are_held(clock: FakeClock) -> None:
    limiters = keyed(clock, max_entries=100, idle_ttl=60.0)
    permit = grant(limiters.get("streaming"))
    clock.advance(600.0)
    limiters.get("other")
    assert "streaming" in limiters
    permit.release(Outcome.OK)
    clock.advance(61.0)
    limiters.get("other")
    assert "streaming" not in limiters


def test_evicting_a_key_with_permits_held_does_not_break_their_release(clock: FakeClock) -> None:
    limiters = keyed(clock, max_entries=1)
    old = limiters.get("a")
    permit = grant(old)
    limiters.get("b")  # evicts a despite its permit
    assert "a" not in limiters
    fresh = limiters.get("a")
    assert fresh is not old
    grant(fresh)  # a fresh limiter: the evicted one's slot is not counted against it
    permit.release(Outcome.OK)
    permit.release(Outcome.OK)
    assert isinstance(old, ConcurrencyLimiter)
    assert (old.inflight, old.held) == (0, 0)


def facts(**overrides: str) -> dict[str, str]:
    base = {"service": "chat", "model": "llama", "instance": "chat|llama|http://a", "client": "1"}
    return base | overrides


@pytest.mark.parametrize(
    ("scope", "same", "different"),
    [
        ("global", facts(service="embedding", model="x", instance="y", client="2"), None),
        ("service", facts(model="x", instance="y", client="2"), facts(service="embedding")),
        ("model", facts(service="embedding", instance="y", client="2"), facts(model="qwen")),
        ("instance", facts(model="x", client="2"), facts(instance="chat|llama|http://b")),
        ("client", facts(model="x", instance="y", service="tts"), facts(client="2")),
    ],
)
def test_scopes_key_limiters_by_their_fact(
    clock: FakeClock, scope: str, same: dict[str, str], different: dict[str, str] | None
) -> None:
    config = RateLimitConfig.model_validate(
        {"algorithm": "concurrency", "max_concurrent": 1, "scope": scope}
    )
    limit = ScopedLimit(config, clock)
    first = limit.limiter(**facts())
    assert limit.limiter(**same) is first
    if different is not None:
        assert limit.limiter(**different) is not first


def test_scoped_limits_share_one_algorithm_between_keys(clock: FakeClock) -> None:
    config = RateLimitConfig(algorithm="token-bucket", capacity=2, rate=1, scope="client")
    limit = ScopedLimit(config, clock)
    a, b = limit.limiter(client="a"), limit.limiter(client="b")
    assert isinstance(a, RateLimiter)
    assert isinstance(b, RateLimiter)
    assert a._algorithm is b._algorithm
    assert isinstance(a._algorithm, TokenBucket)


def test_cost_is_one_request_or_the_token_estimate(clock: FakeClock) -> None:
    payload = {"messages": [], "max_tokens": 40}
    requests = ScopedLimit(RateLimitConfig(algorithm="concurrency", max_concurrent=1), clock)
    assert requests.cost(payload) == 1
    tokens = ScopedLimit(
        RateLimitConfig(
            algorithm="token-bucket", capacity=10_000, rate=100, unit="tokens", default_max_tokens=7
        ),
        clock,
    )
    assert tokens.cost(payload) == 40
    assert tokens.cost({"messages": []}) == 7


def test_scoped_acquisition_keys_each_limit_and_takes_all_or_nothing(clock: FakeClock) -> None:
    tokens = ScopedLimit(
        RateLimitConfig(
            algorithm="token-bucket", capacity=1000, rate=1, unit="tokens", scope="model"
        ),
        clock,
    )
    per_client = ScopedLimit(
        RateLimitConfig(algorithm="token-bucket", capacity=1, rate=1, scope="client"), clock
    )
    payload = {"messages": [], "max_tokens": 40}
    facts = ("chat", "m", "", "10.0.0.1")
    assert isinstance(acquire_scoped([tokens, per_client], facts, payload), PermitSet)
    assert tokens.limiter(model="m").peek().available == 960  # 40 reserved under its model
    assert per_client.limiter(client="10.0.0.1").peek().available == 0
    refused = acquire_scoped([tokens, per_client], facts, payload)
    assert isinstance(refused, Rejection)
    assert refused.retry_after == pytest.approx(1.0)  # the client's bucket refills in 1 s
    assert tokens.limiter(model="m").peek().available == 960  # its reservation given back
    other_client = ("chat", "m", "", "10.0.0.2")
    assert isinstance(acquire_scoped([tokens, per_client], other_client, payload), PermitSet)
