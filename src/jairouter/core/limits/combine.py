"""Several limits on one request, all or nothing (e.g. a global limit and a per-client one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jairouter.core.limits.permits import TOKENS, Limiter, Outcome, Permit, Rejection
from jairouter.core.limits.scopes import Facts, ScopedLimit


class PermitSet:
    """The permits of every limit a request passed; settled and released together."""

    __slots__ = ("permits",)

    allowed = True

    def __init__(self, permits: list[Permit]) -> None:
        self.permits = permits

    def settle(self, tokens: float) -> None:
        """Settle the token-unit permits to the tokens the answer really used."""
        for permit in self.permits:
            if permit.unit is TOKENS:
                permit.settle(tokens)

    def release(self, outcome: Outcome, latency: float | None = None) -> None:
        """Release every permit (each only once, however often this is called)."""
        for permit in self.permits:
            permit.release(outcome, latency)

    def cancel(self) -> None:
        """Undo every permit: refunded and freed, as if the request never came."""
        for permit in self.permits:
            permit.cancel()

    def tightest(self) -> tuple[Permit | None, Permit | None]:
        """The permits to show in X-RateLimit-* headers, of requests and of tokens: the one
        with the fewest remaining, then the longest reset; None for a unit no limit counts.
        One pass for both units: every allowed answer carries both sets of headers."""
        requests: Permit | None = None
        tokens: Permit | None = None
        for permit in self.permits:
            if permit.unit is TOKENS:
                if tokens is None or _tighter(permit, tokens):
                    tokens = permit
            elif requests is None or _tighter(permit, requests):
                requests = permit
        return requests, tokens


def _tighter(permit: Permit, than: Permit) -> bool:
    return permit.remaining < than.remaining or (
        permit.remaining == than.remaining and permit.reset > than.reset
    )


def acquire_all(wanted: Sequence[tuple[Limiter, float]]) -> PermitSet | Rejection:
    """Acquire `cost` from each limiter, or from none of them.

    The usual case, every limit passing, costs one acquisition per limit. On a refusal what
    was taken is given back, and every limit is checked so that the longest wait among those
    that refuse is the one reported.
    """
    permits: list[Permit] = []
    for limiter, cost in wanted:
        decision = limiter.acquire(cost)
        if isinstance(decision, Rejection):
            return _refused(permits, wanted, decision)
        permits.append(decision)
    return PermitSet(permits)


def acquire_scoped(
    limits: Sequence[ScopedLimit], facts: Facts, payload: Mapping[str, Any] | None
) -> PermitSet | Rejection:
    """`acquire_all` of configured limits for one request: each limit finds its limiter and
    the request's cost itself (`ScopedLimit.acquire`), one call per limit on the request path;
    the (limiter, cost) pairs are only made to report a refusal."""
    permits: list[Permit] = []
    for limit in limits:
        decision = limit.acquire(facts, payload)
        if isinstance(decision, Rejection):
            wanted = [(limit.limiter(*facts), limit.cost(payload)) for limit in limits]
            return _refused(permits, wanted, decision)
        permits.append(decision)
    return PermitSet(permits)


def _refused(
    taken: list[Permit], wanted: Sequence[tuple[Limiter, float]], refused: Rejection
) -> Rejection:
    """Give back what was `taken`, and say the longest wait among the limits that refuse."""
    for permit in taken:
        permit.cancel()
    worst = refused
    for limiter, cost in wanted:
        other = limiter.check(cost)
        if other is not None and other.outlasts(worst):
            worst = other
    return worst
