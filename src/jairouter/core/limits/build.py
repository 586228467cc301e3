"""From a `rate_limit:` config block to limiters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jairouter.config.limits import RateLimitConfig
from jairouter.core.limits.adaptive import AdaptiveLimiter
from jairouter.core.limits.buckets import LeakyBucket, TokenBucket
from jairouter.core.limits.concurrency import ConcurrencyLimiter
from jairouter.core.limits.permits import Clock, Limiter, Unit
from jairouter.core.limits.rate import RateAlgorithm, RateLimiter
from jairouter.core.limits.warmup import WarmUp
from jairouter.core.limits.window import SlidingWindow

ALGORITHM_NAMES: tuple[str, ...] = (
    "token-bucket",
    "leaky-bucket",
    "sliding-window",
    "warm-up",
    "adaptive",
    "concurrency",
)
"""Every algorithm `limiter_factory` knows; must match config.limits.RATE_LIMIT_ALGORITHMS."""


def _rate_algorithm(config: RateLimitConfig) -> RateAlgorithm[Any] | None:
    # The config validator guarantees the fields each algorithm needs are set.
    match config.algorithm:
        case "token-bucket":
            assert config.capacity is not None
            assert config.rate is not None
            return TokenBucket(config.capacity, config.rate)
        case "leaky-bucket":
            assert config.capacity is not None
            assert config.rate is not None
            return LeakyBucket(config.capacity, config.rate)
        case "sliding-window":
            assert config.capacity is not None
            assert config.window is not None
            return SlidingWindow(config.capacity, config.window)
        case "warm-up":
            assert config.rate is not None
            assert config.warm_up is not None
            return WarmUp(config.rate, config.warm_up, config.effective_cold_factor)
    return None


def limiter_factory(config: RateLimitConfig, clock: Clock) -> Callable[[], Limiter]:
    """Makes a fresh limiter per call: one per key of a keyed scope.

    Rate algorithms are built once and shared; each limiter adds only its key's small state.
    """
    algorithm = _rate_algorithm(config)
    if algorithm is not None:
        unit = Unit(config.unit)
        shared = algorithm
        return lambda: RateLimiter(shared, clock, unit)
    if config.algorithm == "concurrency":
        assert config.max_concurrent is not None
        most = config.max_concurrent
        return lambda: ConcurrencyLimiter(most, clock)
    if config.algorithm == "adaptive":
        low, initial, high = config.adaptive_limits()
        return lambda: AdaptiveLimiter(clock, initial_limit=initial, min_limit=low, max_limit=high)
    raise ValueError(
        f"unknown rate limit algorithm {config.algorithm!r}; known: {', '.join(ALGORITHM_NAMES)}"
    )


def build_limiter(config: RateLimitConfig, clock: Clock) -> Limiter:
    """One limiter as `config` describes it (its scope aside: see `ScopedLimit` for keys)."""
    return limiter_factory(config, clock)()
