"""The `rate_limit:` schema (config/limits.py) and building limiters from it."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from pydantic import ValidationError

from jairouter.config.limits import RATE_LIMIT_ALGORITHMS, Algorithm, RateLimitConfig
from jairouter.core.limits import (
    ALGORITHM_NAMES,
    AdaptiveLimiter,
    ConcurrencyLimiter,
    LeakyBucket,
    RateLimiter,
    SlidingWindow,
    TokenBucket,
    Unit,
    WarmUp,
    build_limiter,
)
from tests.core.limits.conftest import FakeClock

MINIMAL: dict[str, dict[str, Any]] = {
    "token-bucket": {"capacity": 100, "rate": 10},
    "leaky-bucket": {"capacity": 100, "rate": 10},
    "sliding-window": {"capacity": 100, "window": 60},
    "warm-up": {"rate": 10, "warm_up": 30},
    "adaptive": {},
    "concurrency": {"max_concurrent": 8},
}


def problems(block: dict[str, Any]) -> dict[str, str]:
    """Each error's key and message."""
    with pytest.raises(ValidationError) as info:
        RateLimitConfig.model_validate(block)
    return {".".join(map(str, e["loc"])): e["msg"] for e in info.value.errors()}


def test_names_agree_everywhere() -> None:
    assert set(ALGORITHM_NAMES) == set(RATE_LIMIT_ALGORITHMS) == set(get_args(Algorithm))
    assert set(MINIMAL) == set(ALGORITHM_NAMES)


def test_every_field_is_described() -> None:
    for name, field in RateLimitConfig.model_fields.items():
        assert field.description, name


def test_the_issue_example() -> None:
    config = RateLimitConfig.model_validate(
        {"algorithm": "token-bucket", "capacity": 100, "rate": 10, "scope": "client"}
    )
    assert (config.scope, config.unit, config.max_entries) == ("client", "requests", 10_000)


def test_frozen_and_closed() -> None:
    config = RateLimitConfig(algorithm="concurrency", max_concurrent=2)
    with pytest.raises(ValidationError):
        config.max_concurrent = 3  # type: ignore[misc]
    assert problems({"algorithm": "concurrency", "max_concurrent": 2, "burst": 5}) == {
        "burst": "Extra inputs are not permitted"
    }


@pytest.mark.parametrize(
    ("algorithm", "kind"),
    [
        ("token-bucket", TokenBucket),
        ("leaky-bucket", LeakyBucket),
        ("sliding-window", SlidingWindow),
        ("warm-up", WarmUp),
    ],
)
def test_rate_algorithms_build(clock: FakeClock, algorithm: str, kind: type) -> None:
    config = RateLimitConfig.model_validate({"algorithm": algorithm, **MINIMAL[algorithm]})
    limiter = build_limiter(config, clock)
    assert isinstance(limiter, RateLimiter)
    assert isinstance(limiter._algorithm, kind)
    assert limiter.unit is Unit.REQUESTS


def test_concurrency_and_adaptive_build(clock: FakeClock) -> None:
    concurrency = build_limiter(RateLimitConfig(algorithm="concurrency", max_concurrent=8), clock)
    assert isinstance(concurrency, ConcurrencyLimiter)
    assert concurrency.max_concurrent == 8
    adaptive = build_limiter(RateLimitConfig(algorithm="adaptive", max_limit=10), clock)
    assert isinstance(adaptive, AdaptiveLimiter)
    assert (adaptive.min_limit, adaptive.limit, adaptive.max_limit) == (1, 10, 10)


def test_warm_up_cold_factor_defaults_to_3(clock: FakeClock) -> None:
    limiter = build_limiter(RateLimitConfig(algorithm="warm-up", rate=2, warm_up=4), clock)
    assert isinstance(limiter, RateLimiter)
    assert isinstance(limiter._algorithm, WarmUp)
    assert limiter._algorithm.cold_factor == 3.0


def test_token_units_build_token_limiters(clock: FakeClock) -> None:
    config = RateLimitConfig(algorithm="sliding-window", capacity=90_000, window=60, unit="tokens")
    assert build_limiter(config, clock).unit is Unit.TOKENS


@pytest.mark.parametrize("algorithm", list(MINIMAL))
def test_missing_parameters_are_named(algorithm: str) -> None:
    for name in MINIMAL[algorithm]:
        block = {"algorithm": algorithm, **MINIMAL[algorithm]}
        del block[name]
        found = problems(block)
        assert list(found) == [name]
        assert found[name].startswith(f"{algorithm} needs `{name}`")


def test_parameters_of_another_algorithm_are_errors() -> None:
    found = problems({"algorithm": "token-bucket", "capacity": 5, "rate": 1, "window": 60})
    assert found == {
        "window": "`window` does not apply to token-bucket, which takes capacity, rate"
    }
    found = problems({"algorithm": "adaptive", "max_concurrent": 5})
    assert "min_limit, max_limit, initial_limit" in found["max_concurrent"]


def test_all_problems_are_reported_at_once() -> None:
    found = problems({"algorithm": "sliding-window", "rate": 3, "unit": "tokens"})
    assert set(found) == {"capacity", "window", "rate"}


@pytest.mark.parametrize("algorithm", ["warm-up", "adaptive", "concurrency"])
def test_token_units_need_a_rate_based_algorithm(algorithm: str) -> None:
    found = problems({"algorithm": algorithm, **MINIMAL[algorithm], "unit": "tokens"})
    assert list(found) == ["unit"]
    assert "token-bucket, leaky-bucket, sliding-window" in found["unit"]


def test_default_max_tokens_goes_with_token_units() -> None:
    found = problems({"algorithm": "concurrency", "max_concurrent": 1, "default_max_tokens": 9})
    assert list(found) == ["default_max_tokens"]


@pytest.mark.parametrize("name", ["max_entries", "idle_ttl"])
def test_key_bounds_need_a_keyed_scope(name: str) -> None:
    block = {"algorithm": "concurrency", "max_concurrent": 1, name: 5}
    assert "scope global" in problems(block)[name]
    RateLimitConfig.model_validate({**block, "scope": "client"})


@pytest.mark.parametrize(
    ("limits", "key"),
    [
        ({"min_limit": 10, "max_limit": 5}, "min_limit"),
        ({"initial_limit": 50, "max_limit": 40}, "initial_limit"),
        ({"initial_limit": 2, "min_limit": 3}, "initial_limit"),
    ],
)
def test_adaptive_bounds_must_be_ordered(limits: dict[str, int], key: str) -> None:
    assert list(problems({"algorithm": "adaptive", **limits})) == [key]


def test_adaptive_initial_limit_defaults_within_bounds() -> None:
    assert RateLimitConfig(algorithm="adaptive").adaptive_limits() == (1, 20, 200)
    assert RateLimitConfig(algorithm="adaptive", min_limit=30).adaptive_limits() == (30, 30, 200)
    assert RateLimitConfig(algorithm="adaptive", max_limit=8).adaptive_limits() == (1, 8, 8)


@pytest.mark.parametrize(
    ("field", "value"),
    [("capacity", 0), ("rate", 0), ("rate", -1), ("window", 0), ("cold_factor", 0.5)],
)
def test_out_of_range_values_are_rejected(field: str, value: float) -> None:
    block = {"algorithm": "warm-up", "rate": 1, "warm_up": 1, "cold_factor": 2}
    if field in ("capacity", "window"):
        block = {"algorithm": "sliding-window", "capacity": 1, "window": 1}
    assert field in problems({**block, field: value})
