"""Per-instance and per-pool counters, bumped with integer adds on the request path.

prometheus-client is never called per request (its labelled `Counter.inc` takes a lock and a
dict lookup per label set); `jairouter.server.metrics` turns these into metrics at scrape time.
A Target that a reload keeps keeps its counters, because they live on it.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import deque
from collections.abc import Mapping
from typing import Any, NamedTuple

from jairouter.core.breaker import Failure

# Upper bounds in seconds; a last, unbounded bucket follows. Fine at the low end, where a
# router's own overhead and a fast model's first byte live.
LATENCY_BOUNDS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
)  # fmt: skip

# The router's own time per request is far below a model's: bounds from 50 µs.
OVERHEAD_BOUNDS = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
)  # fmt: skip

# Indexed by `status // 100`; index 0 is an exchange that failed without an HTTP error status:
# unreachable, timed out, broken off mid-answer, or an error event inside a 200 stream.
STATUS_CLASSES = ("error", "1xx", "2xx", "3xx", "4xx", "5xx")
ERROR = 0

RECENT_ERRORS = 10
"""How many of an instance's latest failures `InstanceStats.recent_errors` keeps."""


class RecentError(NamedTuple):
    """One failed exchange, as `jairouter top` lists it: when (epoch seconds), kind, detail."""

    at: float
    kind: str
    detail: str


class Histogram:
    """Counts per bucket of `bounds` (not cumulative; a last, unbounded bucket follows) and the
    sum of what was observed."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BOUNDS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.total += seconds

    def quantile(self, q: float) -> float | None:
        """Estimated `q`-quantile in seconds, interpolated inside its bucket (as Prometheus'
        `histogram_quantile`); None before any observation."""
        count = sum(self.counts)
        if count == 0:
            return None
        bounds = self.bounds
        rank = q * count
        seen = 0
        for i, n in enumerate(self.counts):
            if n and seen + n >= rank:
                if i == len(bounds):
                    return bounds[-1]  # beyond the last bound: its bound is all we know
                low = bounds[i - 1] if i else 0.0
                return low + (bounds[i] - low) * (rank - seen) / n
            seen += n
        return bounds[-1]


class InstanceStats:
    """What one instance did: exchanges by status class, their duration, first-byte time of
    streams (the instance's headers, and the first token the client got), retries its failures
    caused, the tokens answers reported, the 429s it answered and its latest failures."""

    __slots__ = (
        "by_class",
        "duration",
        "first_byte",
        "first_token",
        "recent_errors",
        "retries",
        "throttled",
        "tokens_in",
        "tokens_out",
    )

    def __init__(self) -> None:
        self.by_class = [0] * len(STATUS_CLASSES)
        self.duration = Histogram()
        self.first_byte = Histogram()
        self.first_token = Histogram()  # from the request's arrival, as the client sees it
        self.retries = 0
        self.tokens_in = 0
        self.tokens_out = 0
        self.throttled = 0
        self.recent_errors: deque[RecentError] = deque(maxlen=RECENT_ERRORS)

    def failed(self, failure: Failure | None, status: int = ERROR) -> None:
        """An exchange failed (called on the failure path only): keep it among the latest
        failures, and count it as throttled when the instance answered 429."""
        if status == 429:
            self.throttled += 1
        if failure is not None:
            self.recent_errors.append(RecentError(time.time(), failure.kind.value, failure.detail))

    def finished(self, status: int, seconds: float) -> None:
        """One exchange ended: `status` is the HTTP status, or ERROR (0)."""
        self.by_class[status // 100 if status < 600 else ERROR] += 1
        self.duration.observe(seconds)

    def usage(self, usage: Mapping[str, Any]) -> None:
        """Token counts of an answer's `usage` object."""
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if type(prompt) is int and prompt > 0:  # booleans are not counts
            self.tokens_in += prompt
        if type(completion) is int and completion > 0:
            self.tokens_out += completion

    @property
    def requests(self) -> int:
        return sum(self.by_class)

    @property
    def errors(self) -> int:
        """Exchanges that ended in a 5xx or without an answer."""
        return self.by_class[ERROR] + self.by_class[5]


class PoolStats:
    """What one (service, model) pool did as the model a client asked for."""

    __slots__ = ("duration", "fallbacks", "overhead")

    def __init__(self) -> None:
        self.fallbacks = 0  # answered by a fallback model, the cache or the static answer
        # From the request's arrival to its answer's end, retries and fallbacks included.
        self.duration = Histogram()
        # The router's own time before a request's first upstream call: limits, choice, breaker.
        self.overhead = Histogram(OVERHEAD_BOUNDS)
