"""Adaptive concurrency: a limit on requests in flight that finds its own level.

The maths are Netflix concurrency-limits' (AIMDLimit, Gradient2Limit), updated once per
finished request:

- Dropped (upstream 429, 5xx, timeout): AIMD's multiplicative decrease,
  limit = max(min_limit, min(limit - 1, int(limit * backoff))). Gradient2 alone ignores drops,
  yet they are the clearest overload signal an LLM server gives.
- Answered: Gradient2. A long-term average latency (plain mean of the first 10 samples, then
  exponential over ~600) is the baseline; this request's latency the current value.
      gradient  = clamp(long / short, 0.5, 1.0)      # < 1 when latency rises above baseline
      new       = limit * gradient + queue_size       # headroom to probe for more
      limit     = limit * (1 - smoothing) + new * smoothing, within [min_limit, max_limit]
  With steady latency the limit grows by smoothing * queue_size (0.8) per request; while
  latency stays at gradient g it sinks toward queue_size / (1 - g) (8 when latency doubles).
  The limit only moves while at least half of it is in use: an idle limiter learns nothing.
  When the baseline runs over twice the current latency (load has passed) it decays by 10% per
  sample so the limit can recover sooner.
"""

from __future__ import annotations

from jairouter.core.limits.concurrency import slot_wait
from jairouter.core.limits.permits import (
    DROPPED,
    OK,
    Clock,
    Level,
    Outcome,
    Permit,
    Rejection,
    Unit,
)

MIN_RTT = 1e-6
"""Latencies are floored here so a zero-latency sample cannot divide by zero."""


class AdaptiveLimiter:
    """Concurrency limit moved by outcomes and latency; implements `Limiter`."""

    __slots__ = (
        "_clock",
        "_estimate",
        "_long_rtt",
        "_samples",
        "backoff",
        "held",
        "inflight",
        "last_used",
        "long_window",
        "max_limit",
        "min_limit",
        "queue_size",
        "smoothing",
        "unit",
        "warmup_samples",
    )

    def __init__(
        self,
        clock: Clock,
        *,
        initial_limit: int = 20,
        min_limit: int = 1,
        max_limit: int = 200,
        backoff: float = 0.9,
        smoothing: float = 0.2,
        queue_size: float = 4.0,
        long_window: int = 600,
        warmup_samples: int = 10,
    ) -> None:
        if not 1 <= min_limit <= initial_limit <= max_limit:
            raise ValueError("adaptive limit needs 1 <= min_limit <= initial_limit <= max_limit")
        self._clock = clock
        self.min_limit = min_limit
        self.max_limit = max_limit
        self.backoff = backoff  # AIMDLimit's default
        self.smoothing = smoothing  # Gradient2Limit's defaults from here down
        self.queue_size = queue_size
        self.long_window = long_window
        self.warmup_samples = warmup_samples
        self.unit = Unit.REQUESTS
        self._estimate = float(initial_limit)
        self._long_rtt = 0.0
        self._samples = 0
        self.inflight = 0.0
        self.held = 0
        self.last_used = clock()

    @property
    def limit(self) -> int:
        """Requests allowed in flight now."""
        return int(self._estimate)

    @property
    def baseline(self) -> float:
        """Long-term average latency in seconds (0 before the first answered request)."""
        return self._long_rtt

    def check(self, cost: float = 1.0) -> Rejection | None:
        self.last_used = self._clock()
        return self._refuse(cost) if self.inflight + cost > self.limit else None

    def acquire(self, cost: float = 1.0) -> Permit | Rejection:
        now = self.last_used = self._clock()
        limit = self.limit
        if self.inflight + cost > limit:
            return self._refuse(cost)
        self.inflight += cost
        self.held += 1
        free = limit - self.inflight
        return Permit(self, self.unit, cost, limit, free, 0.0, now, inflight=int(self.inflight))

    def peek(self) -> Level:
        """Capacity is the limit it has learnt so far, not `max_limit`."""
        limit = float(self.limit)
        return Level(limit, max(0.0, limit - self.inflight))

    def _refuse(self, cost: float) -> Rejection:
        wait = slot_wait(self._long_rtt, self.inflight)
        return Rejection(self.unit, self.limit, wait, None if cost > self.max_limit else wait)

    def _settle(self, permit: Permit, actual: float) -> None:
        pass  # slots held do not change with what the request turned out to cost

    def _release(self, permit: Permit, outcome: Outcome, latency: float | None) -> None:
        self.held -= 1
        self.inflight = max(0.0, self.inflight - permit.cost)
        if outcome is DROPPED:
            self._back_off()
        elif outcome is OK:
            if latency is None:
                latency = self._clock() - permit.started
            self._sample(max(latency, MIN_RTT), permit.inflight)

    def _back_off(self) -> None:
        limit = self.limit
        self._estimate = float(max(self.min_limit, min(limit - 1, int(limit * self.backoff))))

    def _sample(self, rtt: float, inflight: int) -> None:
        long_rtt = self._average(rtt)
        if long_rtt / rtt > 2:
            long_rtt = self._long_rtt = long_rtt * 0.9
        estimate = self._estimate
        if inflight < estimate / 2:
            return  # limited by demand, not by the upstream: nothing to learn
        gradient = max(0.5, min(1.0, long_rtt / rtt))
        proposed = estimate * gradient + self.queue_size
        estimate = estimate * (1 - self.smoothing) + proposed * self.smoothing
        self._estimate = max(float(self.min_limit), min(float(self.max_limit), estimate))

    def _average(self, rtt: float) -> float:
        """Adds a sample to the long-term latency (Netflix's ExpAvgMeasurement) and returns it."""
        if self._samples < self.warmup_samples:
            self._samples += 1
            self._long_rtt += (rtt - self._long_rtt) / self._samples
        else:
            self._long_rtt += (rtt - self._long_rtt) * 2.0 / (self.long_window + 1)
        return self._long_rtt

    def __repr__(self) -> str:
        return f"AdaptiveLimiter(limit={self.limit}, inflight={self.inflight:g})"
