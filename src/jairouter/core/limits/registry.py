"""Limiter state per key (client, model, …), bounded however many keys traffic brings.

Keys come from requests, so a flood of distinct clients must not grow memory without bound:
the registry holds at most `max_entries` keys, dropping the least recently used when full, and
drops keys idle for `idle_ttl` seconds. A key's state starts fresh when it comes back, which is
exact for any limiter left alone long enough to refill (set `idle_ttl` at least as long as that).

A dropped key's permits still in flight keep a reference to its old limiter and release into it
harmlessly; the key's new limiter does not see them. Idle expiry skips keys with permits held
(a long stream is not idleness); only the hard `max_entries` bound may drop one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from jairouter.core.limits.permits import Clock, Limiter

SWEEP_EVERY = 1.0
"""Seconds between idle sweeps at most; a sweep costs O(keys expired)."""


class KeyedLimiters:
    """The limiter for each key, created on first use by `factory`."""

    __slots__ = ("_clock", "_factory", "_limiters", "_next_sweep", "idle_ttl", "max_entries")

    def __init__(
        self,
        factory: Callable[[], Limiter],
        *,
        max_entries: int,
        idle_ttl: float,
        clock: Clock,
    ) -> None:
        if max_entries < 1 or idle_ttl <= 0:
            raise ValueError("keyed limiters need max_entries >= 1 and idle_ttl > 0")
        self._factory = factory
        self.max_entries = max_entries
        self.idle_ttl = idle_ttl
        self._clock = clock
        # Least recently used first: a lookup moves its key to the end.
        self._limiters: OrderedDict[str, Limiter] = OrderedDict()
        self._next_sweep = clock() + min(idle_ttl, SWEEP_EVERY)

    def get(self, key: str) -> Limiter:
        """The limiter for `key`: O(1), plus an idle sweep at most every `SWEEP_EVERY` s."""
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        limiters = self._limiters
        limiter = limiters.get(key)
        if limiter is None:
            limiter = limiters[key] = self._factory()
            if len(limiters) > self.max_entries:
                limiters.popitem(last=False)
        else:
            limiters.move_to_end(key)
            limiter.last_used = now  # keeps the order by last use that the sweep relies on
        return limiter

    def peek(self, key: str) -> Limiter | None:
        """The limiter `key` has now, if any; unlike `get` it neither creates, reorders nor
        sweeps, so looking from a status page never keeps a key alive."""
        return self._limiters.get(key)

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + min(self.idle_ttl, SWEEP_EVERY)
        limiters = self._limiters
        deadline = now - self.idle_ttl
        while limiters:
            key = next(iter(limiters))
            limiter = limiters[key]
            if limiter.last_used > deadline:
                break  # everything after it was used more recently still
            if limiter.held:
                limiter.last_used = now  # busy, so not idle: keep it and look again later
                limiters.move_to_end(key)
            else:
                del limiters[key]

    def __len__(self) -> int:
        return len(self._limiters)

    def __contains__(self, key: object) -> bool:
        return key in self._limiters
