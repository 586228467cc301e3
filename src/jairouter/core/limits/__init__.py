"""Rate limiting as pure logic: algorithms, scopes and token accounting, clock injected.

    limit = ScopedLimit(config, clock)                    # one per configured `rate_limit:`
    facts = (service, model, instance, client)            # what the scopes key on
    decision = acquire_scoped([limit, ...], facts, payload)  # each finds its key's limiter
    # (acquire_all([(limiter, cost), ...]) does the same for bare limiters)
    if isinstance(decision, Rejection):                   # 429 with Retry-After
        ...decision.retry_after, decision.limit, decision.reset
    try:
        ...call upstream...
        decision.settle(usage_tokens(usage))              # token-unit limits follow real usage
    finally:
        decision.release(outcome, latency)                # exactly once; repeats are no-ops
    limit.peek(key)                                       # Level(capacity, available), read-only

Algorithms: token-bucket and leaky-bucket (`buckets`), sliding-window (`window`, a weighted
two-window count), warm-up (`warmup`, Guava's SmoothWarmingUp), concurrency (`concurrency`) and
adaptive (`adaptive`, Netflix's Gradient2 with AIMD backoff). Rate algorithms keep each key's
state in a small plain object (`rate` explains that seam); `registry` bounds how many keys are
kept. Nothing here locks, waits or does I/O: the router calls it from one event loop.
"""

from jairouter.core.limits.adaptive import AdaptiveLimiter
from jairouter.core.limits.buckets import LeakyBucket, TokenBucket
from jairouter.core.limits.build import ALGORITHM_NAMES, build_limiter, limiter_factory
from jairouter.core.limits.combine import PermitSet, acquire_all, acquire_scoped
from jairouter.core.limits.concurrency import ConcurrencyLimiter
from jairouter.core.limits.permits import (
    Clock,
    Decision,
    Level,
    Limiter,
    Outcome,
    Permit,
    Rejection,
    Unit,
    outcome_for_status,
)
from jairouter.core.limits.rate import RateAlgorithm, RateLimiter
from jairouter.core.limits.registry import KeyedLimiters
from jairouter.core.limits.scopes import ScopedLimit
from jairouter.core.limits.tokens import estimate_tokens, usage_tokens
from jairouter.core.limits.warmup import WarmUp
from jairouter.core.limits.window import SlidingWindow

__all__ = [
    "ALGORITHM_NAMES",
    "AdaptiveLimiter",
    "Clock",
    "ConcurrencyLimiter",
    "Decision",
    "KeyedLimiters",
    "LeakyBucket",
    "Level",
    "Limiter",
    "Outcome",
    "Permit",
    "PermitSet",
    "RateAlgorithm",
    "RateLimiter",
    "Rejection",
    "ScopedLimit",
    "SlidingWindow",
    "TokenBucket",
    "Unit",
    "WarmUp",
    "acquire_all",
    "acquire_scoped",
    "build_limiter",
    "estimate_tokens",
    "limiter_factory",
    "outcome_for_status",
    "usage_tokens",
]
