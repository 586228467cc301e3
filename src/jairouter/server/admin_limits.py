"""The rate limits' live state in GET /admin/status: capacity and what is available now.

Read with `ScopedLimit.peek`, which changes nothing, so a status page polled every second
never refills, reorders or keeps alive any limiter. A keyed scope (`client`, `model`) has one
limiter per key: it shows how many keys hold state, not one key's level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jairouter.core.limits import ScopedLimit

if TYPE_CHECKING:
    from jairouter.pipeline.routing import Target
    from jairouter.server.app import Router

KEYED_SCOPES = frozenset({"client", "model"})
"""Scopes whose keys come from requests; other scopes have one key the status knows."""

LimitState = dict[str, object]


def instance_limits(target: Target) -> list[LimitState]:
    """The instance-scoped limits of one instance (its key is the only one they have)."""
    return [limit_state(limit, target.key) for limit in target.limits]


def service_limits(router: Router) -> dict[str, list[LimitState]]:
    """Every service's limits checked before an instance is chosen; [] when it has none."""
    admission = router.admission
    return {
        service.value: [limit_state(limit, service.value) for limit in admission.limits(service)]
        for service in router.config.services
    }


def limit_state(limit: ScopedLimit, key: str) -> LimitState:
    """One limit as the status shows it; `key` names its limiter unless the scope is keyed."""
    state: LimitState = {
        "scope": limit.scope,
        "unit": limit.unit.value,
        "algorithm": limit.config.algorithm,
    }
    if limit.scope in KEYED_SCOPES:
        state.update(capacity=limit.capacity, available=None, keys=limit.keys)
    else:
        level = limit.peek(key)
        state.update(capacity=level.capacity, available=level.available)
    return state
