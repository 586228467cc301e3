"""Retry budget and backoff: retries may add only a bounded share of extra load.

The budget follows Finagle's and Envoy's idea: over the last `window` seconds, retries may not
exceed `percent` of the requests seen plus a small floor (`min_per_second`), so that when every
instance is failing, retries cannot multiply the load that made them fail.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

Clock = Callable[[], float]


class RetryBudget:
    """Counts requests and retries in one-second buckets over a sliding window."""

    def __init__(
        self,
        percent: float,
        min_per_second: float,
        *,
        window: int = 10,
        clock: Clock = time.monotonic,
    ) -> None:
        self._ratio = percent / 100.0
        self._floor = min_per_second * window
        self._clock = clock
        self._requests = [0] * window
        self._retries = [0] * window
        self._stamps = [-1] * window  # which second each bucket currently counts

    def _bucket(self) -> int:
        second = int(self._clock())
        index = second % len(self._stamps)
        if self._stamps[index] != second:
            self._stamps[index] = second
            self._requests[index] = 0
            self._retries[index] = 0
        return index

    def record_request(self) -> None:
        """An original (not retried) request was sent."""
        self._requests[self._bucket()] += 1

    def try_retry(self) -> bool:
        """Whether one more retry fits the budget; counts it if so."""
        index = self._bucket()
        oldest = int(self._clock()) - len(self._stamps)
        live = [i for i, stamp in enumerate(self._stamps) if stamp > oldest]
        requests = sum(self._requests[i] for i in live)
        retries = sum(self._retries[i] for i in live)
        if retries + 1 > self._ratio * requests + self._floor:
            return False
        self._retries[index] += 1
        return True


def backoff(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait before retry number `attempt` (1-based): full jitter below base * 2^n."""
    return rng.uniform(0.0, min(cap, base * (2 ** (attempt - 1))))


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from an upstream's Retry-After header (the delta-seconds form; dates ignored)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
