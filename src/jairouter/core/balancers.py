"""Load-balancing strategies: which eligible instance serves the next request.

A balancer is made once per service by name (`make_balancer`) and then asked to `pick` from the
instances eligible right now. That set may change between calls (unhealthy instances are left out),
so per-instance state is keyed by `Candidate.key`, never by position. Picks run on the request hot
path: each is O(n) in the (small) number of candidates, or O(log points) for the hash ring, and
nothing big is allocated per call. Balancers are not thread-safe; the router calls them from one
event loop.

State is kept for every key ever seen, so build a fresh balancer when the config is reloaded.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import random
import struct
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar


class Candidate(Protocol):
    """What a balancer needs to know about an instance."""

    @property
    def key(self) -> str:
        """Stable identity of the instance, e.g. "chat|model|url"."""

    @property
    def weight(self) -> int:
        """Relative share of traffic, >= 1."""

    @property
    def inflight(self) -> int:
        """Requests in flight to the instance now."""


C = TypeVar("C", bound=Candidate)


class Balancer(Protocol):
    def pick(self, candidates: Sequence[C], client: str) -> C:
        """Choose one of `candidates` (non-empty) for a request from address `client`."""


def _check(candidates: Sequence[Candidate]) -> None:
    if not candidates:
        raise ValueError("cannot pick from no candidates")


class WeightedRandom:
    """Each pick independently chooses an instance with probability weight / total weight."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def pick(self, candidates: Sequence[C], client: str) -> C:
        _check(candidates)
        if len(candidates) == 1:
            return candidates[0]
        x = self._rng.randrange(sum(c.weight for c in candidates))
        for chosen in candidates:
            x -= chosen.weight
            if x < 0:
                break
        return chosen


class SmoothRoundRobin:
    """nginx's smooth weighted round-robin (ngx_http_upstream_get_peer).

    Every pick adds each candidate's weight to its current weight, picks the largest (the first
    on ties) and subtracts the total weight from the winner. Weights 5,1,1 give a a b a c a a:
    the heavy instance's turns are interleaved with the others instead of bunched together.
    """

    def __init__(self) -> None:
        self._current: dict[str, int] = {}

    def pick(self, candidates: Sequence[C], client: str) -> C:
        _check(candidates)
        if len(candidates) == 1:
            return candidates[0]
        current = self._current
        total = 0
        best = candidates[0]
        best_weight = 0
        for i, cand in enumerate(candidates):
            key, weight = cand.key, cand.weight
            now = current.get(key, 0) + weight
            current[key] = now
            total += weight
            if i == 0 or now > best_weight:
                best, best_weight = cand, now
        current[best.key] = best_weight - total
        return best


class LeastConnections:
    """The instance with the fewest in-flight requests per unit of weight.

    Ties, including the idle case where every instance has zero in flight, are broken by smooth
    weighted round-robin among the tied, as nginx's least_conn does, so they are spread by weight
    rather than always landing on the first instance.
    """

    def __init__(self) -> None:
        self._tiebreak = SmoothRoundRobin()

    def pick(self, candidates: Sequence[C], client: str) -> C:
        _check(candidates)
        best = candidates[0]
        ties = 0  # the first iteration ties best with itself
        for cand in candidates:
            # inflight/weight compared by cross-multiplying: exact, no floats.
            lhs, rhs = cand.inflight * best.weight, best.inflight * cand.weight
            if lhs < rhs:
                best, ties = cand, 1
            elif lhs == rhs:
                ties += 1
        if ties == 1:
            return best
        if ties == len(candidates):  # all tied, as whenever the pool is idle
            return self._tiebreak.pick(candidates, client)
        tied = [c for c in candidates if c.inflight * best.weight == best.inflight * c.weight]
        return self._tiebreak.pick(tied, client)


POINTS_PER_WEIGHT = 160
"""Ring points per unit of weight (ketama's figure): enough for shares within ~10% of weight."""

MAX_RING_POINTS = 1 << 15
"""The ring never has (many) more points than this, bounding a rebuild to ~20 ms."""

_POINTS_PER_DIGEST = 8  # a 64-byte blake2b digest yields eight 64-bit ring points
_UNPACK_POINTS = struct.Struct(f"<{_POINTS_PER_DIGEST}Q").unpack


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


class _Ring:
    """A consistent-hash ring: sorted 64-bit points and the instance key owning each."""

    __slots__ = ("owners", "points")

    def __init__(self, members: frozenset[tuple[str, int]]) -> None:
        total_weight = sum(weight for _, weight in members)
        # Points per unit of weight stay fixed while the ring is small, so adding an instance
        # only adds points and the clients that move all move to it. Huge weights share the
        # point budget in proportion instead, trading that guarantee for a bounded rebuild.
        budget = min(POINTS_PER_WEIGHT * total_weight, MAX_RING_POINTS)
        pairs: list[tuple[int, str]] = []
        for key, weight in members:
            count = max(1, weight * budget // total_weight)
            for block in range(-(-count // _POINTS_PER_DIGEST)):
                digest = hashlib.blake2b(f"{key}#{block}".encode()).digest()
                take = min(_POINTS_PER_DIGEST, count - block * _POINTS_PER_DIGEST)
                pairs.extend((point, key) for point in _UNPACK_POINTS(digest)[:take])
        pairs.sort()  # ties on a point (vanishingly rare) resolve by key: still deterministic
        self.points = [point for point, _ in pairs]
        self.owners = [key for _, key in pairs]

    def owner(self, client: str) -> str:
        """The key owning the first point clockwise from the client's hash."""
        i = bisect.bisect(self.points, _hash(client))
        return self.owners[i if i < len(self.points) else 0]


class IpHash:
    """Consistent hashing on the client address: a client sticks to one instance.

    Each instance owns points on a ring in proportion to its weight; a client goes to the owner of
    the first point after its hash. Adding an instance to N moves only ~1/(N+1) of clients, all
    to the new instance; removing one moves only that instance's clients. A ring is built only
    when the eligible set (keys and weights) changes, and the last few are kept so an instance
    flapping in and out of health does not cost a rebuild on every flip.
    """

    def __init__(self) -> None:
        # Keyed by the eligible (key, weight) set: a ring is built only when that set changes.
        self._ring_for = functools.lru_cache(maxsize=4)(_Ring)

    def pick(self, candidates: Sequence[C], client: str) -> C:
        _check(candidates)
        if len(candidates) == 1:
            return candidates[0]
        owner = self._ring_for(frozenset((c.key, c.weight) for c in candidates)).owner(client)
        return next(c for c in candidates if c.key == owner)


_FACTORIES: dict[str, Callable[[random.Random], Balancer]] = {
    "random": WeightedRandom,
    "round-robin": lambda _rng: SmoothRoundRobin(),
    "least-connections": lambda _rng: LeastConnections(),
    "ip-hash": lambda _rng: IpHash(),
}
BALANCER_NAMES: tuple[str, ...] = tuple(_FACTORIES)
"""Every strategy `make_balancer` knows; must match config.models.LOAD_BALANCERS."""


def make_balancer(name: str, *, rng: random.Random | None = None) -> Balancer:
    """A fresh balancer for one service. `rng` feeds the random strategy (seed it in tests)."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ValueError(f"unknown load balancer {name!r}; known: {', '.join(BALANCER_NAMES)}")
    return factory(rng if rng is not None else random.Random())
