"""Limit: the rate limits a request passes before an instance is chosen, and their headers."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from jairouter.config.limits import RateLimitConfig
from jairouter.config.models import Config
from jairouter.core.limits import PermitSet, Rejection, ScopedLimit, acquire_scoped
from jairouter.core.limits.permits import TOKENS
from jairouter.core.limits.scopes import Facts
from jairouter.errors import RateLimited
from jairouter.types import ProxyRequest, ServiceType

Headers = tuple[tuple[bytes, bytes], ...]


class Admission:
    """Every non-instance-scoped limit of each service; equal limits share their state, so a
    `global` limit inherited from `defaults:` is one budget for all services."""

    def __init__(
        self, config: Config, clock: Callable[[], float], previous: Admission | None = None
    ) -> None:
        """With `previous` (a reload), limits whose settings did not change keep their state."""
        shared: dict[RateLimitConfig, ScopedLimit] = dict(previous._shared) if previous else {}
        self._limits: dict[ServiceType, list[ScopedLimit]] = {}
        for service in config.services:
            limits = []
            for limit in config.rate_limits_of(service):
                if limit.scope == "instance":
                    continue  # checked once an instance is chosen
                if limit not in shared:
                    shared[limit] = ScopedLimit(limit, clock)
                limits.append(shared[limit])
            if limits:
                self._limits[service] = limits
        used = {id(limit) for limits in self._limits.values() for limit in limits}
        self._shared: dict[RateLimitConfig, ScopedLimit] = {
            c: limit for c, limit in shared.items() if id(limit) in used
        }
        # Requests that passed, and those refused here (429) by the scope of the limit that
        # refused them, per service; the counts outlive reloads.
        self.allowed: dict[ServiceType, int] = previous.allowed if previous else {}
        self.rejected: dict[tuple[ServiceType, str], int] = previous.rejected if previous else {}
        for service, limits in self._limits.items():  # zeros, so that a rate of them exists
            self.allowed.setdefault(service, 0)
            for scoped in limits:
                self.rejected.setdefault((service, scoped.scope), 0)

    def limits(self, service: ServiceType) -> list[ScopedLimit]:
        """The limits requests to `service` pass here, for the status API to read."""
        return self._limits.get(service, [])

    def admit(self, req: ProxyRequest) -> tuple[PermitSet | None, Headers]:
        """The permits the request holds and the X-RateLimit-* headers its answer carries;
        raises RateLimited (429) when any limit refuses."""
        service = req.endpoint.service
        limits = self._limits.get(service)
        if limits is None:
            return None, ()
        # The member itself keys service-scoped limiters: a StrEnum hashes and compares as its
        # value, and `.value` is a Python-level property on Python 3.11.
        facts = (service, req.model, "", req.client)
        decision = acquire_scoped(limits, facts, req.payload)
        if isinstance(decision, Rejection):
            key = (service, _refusing_scope(limits, facts, req.payload))
            self.rejected[key] = self.rejected.get(key, 0) + 1
            raise limited(decision)
        self.allowed[service] = self.allowed.get(service, 0) + 1
        return decision, permit_headers(decision)


def _refusing_scope(
    limits: list[ScopedLimit], facts: Facts, payload: Mapping[str, Any] | None
) -> str:
    """The scope of the first limit that refuses (the request's permits are given back)."""
    for limit in limits:
        if limit.limiter(*facts).check(limit.cost(payload)) is not None:
            return limit.scope
    return limits[-1].scope  # not reached: `check` refuses whatever `acquire` refused


def limited(rejection: Rejection) -> RateLimited:
    tokens = rejection.unit is TOKENS
    unit = "tokens" if tokens else "requests"
    names = _TOKEN_NAMES if tokens else _REQUEST_NAMES
    if rejection.retry_after is None:
        message = f"this request alone exceeds the {unit} limit of {rejection.limit}"
        headers = _limit_headers(rejection.limit, 0, rejection.reset, names)
    else:
        wait = max(1, math.ceil(rejection.retry_after))
        message = f"rate limit of {rejection.limit} {unit} reached; retry in {wait}s"
        headers = (
            *_limit_headers(rejection.limit, 0, rejection.reset, names),
            _header("retry-after", wait),
        )
    return RateLimited(message, headers=headers)


def permit_headers(permits: PermitSet) -> Headers:
    """X-RateLimit-* of the tightest permit of each unit (OpenAI's names: no suffix for
    requests, `-tokens` for tokens)."""
    requests, tokens = permits.tightest()
    headers: Headers = ()
    if requests is not None:
        headers = _limit_headers(requests.limit, requests.remaining, requests.reset, _REQUEST_NAMES)
    if tokens is not None:  # tuples: one copy
        headers += _limit_headers(tokens.limit, tokens.remaining, tokens.reset, _TOKEN_NAMES)
    return headers


_FIELDS = ("limit", "remaining", "reset")
# Header names, encoded once: every allowed answer carries them.
_REQUEST_NAMES = tuple(f"x-ratelimit-{field}".encode() for field in _FIELDS)
_TOKEN_NAMES = tuple(f"x-ratelimit-{field}-tokens".encode() for field in _FIELDS)


def _limit_headers(limit: int, remaining: int, reset: float, names: tuple[bytes, ...]) -> Headers:
    limit_name, remaining_name, reset_name = names
    return (
        (limit_name, b"%d" % limit),
        (remaining_name, b"%d" % remaining),  # a Permit floors it at 0, a 429 passes 0
        # A limit back to full at once (most of them, most of the time) skips math.ceil.
        (reset_name, b"%d" % math.ceil(reset) if reset > 0.0 else b"0"),
    )


def _header(name: str, value: int) -> tuple[bytes, bytes]:
    return name.encode(), str(value).encode()
