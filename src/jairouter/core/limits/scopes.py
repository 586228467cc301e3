"""Scopes: whose requests share a limiter.

    global     one limiter for every request the limit covers
    service    one per service (chat, embedding, …)
    model      one per model name, as the client asked for it
    instance   one per upstream instance (its key), so acquired after the instance is picked
    client     one per client: its address now, an API key's id once keys exist

Several limits on one request are acquired all or nothing (`acquire_scoped` in combine.py),
e.g. a global limit and a per-client one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jairouter.config.limits import RateLimitConfig
from jairouter.core.limits.build import limiter_factory
from jairouter.core.limits.permits import REQUESTS, Clock, Decision, Level, Limiter, Unit
from jairouter.core.limits.registry import KeyedLimiters
from jairouter.core.limits.tokens import estimate_tokens

Facts = tuple[str, str, str, str]
"""What scopes key on, of one request: (service, model, instance, client)."""

# Which of the facts each scope keys on (global keys on none).
_FACT_OF_SCOPE = {"service": 0, "model": 1, "instance": 2, "client": 3, "global": 0}


class ScopedLimit:
    """One configured `rate_limit`: picks the limiter a request uses by the limit's scope."""

    __slots__ = (
        "_default_max_tokens",
        "_fact",
        "_factory",
        "_keyed",
        "_single",
        "config",
        "scope",
        "unit",
    )

    def __init__(self, config: RateLimitConfig, clock: Clock) -> None:
        self.config = config
        self.scope = config.scope
        self.unit = Unit(config.unit)
        self._default_max_tokens = config.default_max_tokens
        self._fact = _FACT_OF_SCOPE[config.scope]
        self._factory = factory = limiter_factory(config, clock)
        self._single: Limiter | None = None
        self._keyed: KeyedLimiters | None = None
        if config.scope == "global":
            self._single = factory()
        else:
            self._keyed = KeyedLimiters(
                factory, max_entries=config.max_entries, idle_ttl=config.idle_ttl, clock=clock
            )

    def limiter(
        self, service: str = "", model: str = "", instance: str = "", client: str = ""
    ) -> Limiter:
        """The limiter for a request with these facts; only the one the scope names is read."""
        return self._limiter_of((service, model, instance, client))

    def acquire(self, facts: Facts, payload: Mapping[str, Any] | None) -> Decision:
        """`limiter(*facts).acquire(cost(payload))`, the request path's form: facts as one
        tuple, no (limiter, cost) pair per limit."""
        return self._limiter_of(facts).acquire(self.cost(payload))

    def _limiter_of(self, facts: Facts) -> Limiter:
        keyed = self._keyed
        limiter = self._single if keyed is None else keyed.get(facts[self._fact])
        assert limiter is not None
        return limiter

    def cost(self, payload: Mapping[str, Any] | None) -> float:
        """What a request costs this limit: 1 request, or its estimated tokens."""
        if self.unit is REQUESTS:
            return 1.0
        return float(estimate_tokens(payload, self._default_max_tokens))

    @property
    def keys(self) -> int:
        """Keys with state now (1 for global): what memory the limit holds."""
        return 1 if self._keyed is None else len(self._keyed)

    def peek(self, key: str = "") -> Level:
        """The level of `key`'s limiter (the only one for `global`), read without touching it;
        a key with no state yet shows what a fresh limiter holds: everything."""
        limiter = self._single
        if limiter is None:
            assert self._keyed is not None
            limiter = self._keyed.peek(key)
        return self._factory().peek() if limiter is None else limiter.peek()

    @property
    def capacity(self) -> float:
        """The capacity each key's limiter starts with, as configured."""
        return self._factory().peek().capacity  # a fresh limiter, thrown away
