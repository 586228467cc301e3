"""Choose instance → breaker: the balancer's pick, skipping instances that are unhealthy,
ejected, rate-limited or whose circuit refuses, until one takes the request."""

from __future__ import annotations

from typing import Protocol

from jairouter.core.breaker import Trial
from jairouter.core.health import unavailable_message
from jairouter.core.limits import PermitSet, Rejection, acquire_scoped
from jairouter.errors import NoCapacity
from jairouter.pipeline.admission import limited
from jairouter.pipeline.routing import Pool, Target
from jairouter.types import ProxyRequest


class HealthView(Protocol):
    """What active health checking tells about an instance (the Prober)."""

    def serving(self, key: str) -> bool: ...

    def reason(self, key: str) -> str | None: ...


class Choice:
    """An instance that accepted the request: its breaker trial and instance-scoped permits."""

    __slots__ = ("permits", "target", "trial")

    def __init__(self, target: Target, trial: Trial, permits: PermitSet | None) -> None:
        self.target = target
        self.trial = trial
        self.permits = permits


def choose(
    pool: Pool, req: ProxyRequest, exclude: set[Target] | None, health: HealthView | None
) -> Choice:
    """Raises NoCapacity (503) naming why each instance is out, or RateLimited (429) when every
    instance left was refused by its own limit."""
    candidates = pool.targets if not exclude else [t for t in pool.targets if t not in exclude]
    reasons: list[tuple[str, str]] = []
    rejection: Rejection | None = None
    only_limits = True
    while candidates:
        target = pool.balancer.pick(candidates, req.client)
        why = _out(pool, target, health)
        if why is None:
            permits = None
            if target.limits:
                decision = acquire_scoped(target.limits, ("", "", target.key, ""), req.payload)
                if isinstance(decision, Rejection):
                    rejection = decision
                    why = "rate limited"
                else:
                    permits = decision
            if why is None:
                trial = target.breaker.allow()
                if trial is not None:
                    return Choice(target, trial, permits)
                if permits is not None:
                    permits.cancel()
                why = target.breaker.refusal() or "circuit open"
        only_limits = only_limits and why == "rate limited"
        reasons.append((target.label, why))
        candidates = [t for t in candidates if t is not target]
    if rejection is not None and only_limits:
        raise limited(rejection)
    if not reasons:
        raise NoCapacity("no instance is left to try")
    raise NoCapacity(unavailable_message(reasons))


def _out(pool: Pool, target: Target, health: HealthView | None) -> str | None:
    """Why the instance takes no traffic now, or None."""
    if health is not None and not health.serving(target.key):
        return health.reason(target.key) or "unhealthy"
    if pool.outliers.ejected(target.key):
        return pool.outliers.reason(target.key) or "ejected"
    return None
