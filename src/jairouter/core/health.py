"""Whether an instance should get traffic: active-probe hysteresis and passive outlier ejection.

`ProbeHealth` turns one instance's probe results into a state that does not flap: `rise`
successes in a row to become healthy, `fall` failures in a row to become unhealthy.
`OutlierDetector` watches one pool's live traffic as Envoy's consecutive-5xx detector does: an
instance failing `consecutive_failures` times in a row is ejected for base x (times ejected), up to
a maximum, as long as no more than `max_ejection_percent` of the pool is out at once. Ejected
instances come back by themselves when their time is up (noticed lazily, on the next look).

Both are pure, with the clock injected; neither is thread-safe (the router drives them from one
event loop). Each explains why an instance is out, for the 503 message `unavailable_message`
builds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from jairouter.config.resilience import HealthCheckConfig, InitialHealth, OutlierConfig
from jairouter.core.breaker import Clock, Failure


class Health(StrEnum):
    HEALTHY = "healthy"
    UNKNOWN = "unknown"
    UNHEALTHY = "unhealthy"


# Bound once for `serving`, which every request asks: on Python 3.11 a member read off its
# enum class is an unspecialised lookup (~1k instructions).
_UNHEALTHY = Health.UNHEALTHY


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class ProbeHealth:
    """Rise/fall hysteresis over the active probes of one instance.

    Initial state: `healthy` serves at once and needs `fall` failures to go out; `unknown` also
    serves at once but the first result decides either way; `unhealthy` gets no traffic until
    `rise` probes succeed.
    """

    def __init__(
        self,
        rise: int,
        fall: int,
        initial: InitialHealth = "healthy",
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        if rise < 1 or fall < 1:
            raise ValueError("rise and fall must be at least 1")
        self.rise = rise
        self.fall = fall
        self.state = Health(initial)
        self.since = clock()
        self.successes = 0  # in a row
        self.failures = 0  # in a row
        self.last_error: str | None = None
        self._clock = clock

    @classmethod
    def from_config(cls, check: HealthCheckConfig, *, clock: Clock = time.monotonic) -> ProbeHealth:
        return cls(check.rise, check.fall, check.initial_state, clock=clock)

    @property
    def serving(self) -> bool:
        """Whether the instance may get traffic: anything but unhealthy."""
        return self.state is not _UNHEALTHY

    def record(self, ok: bool, error: str | None = None) -> tuple[Health, Health] | None:
        """Feed one probe result; returns (old, new) when the state changed."""
        old = self.state
        if ok:
            self.successes += 1
            self.failures = 0
            if old is not Health.HEALTHY and (old is Health.UNKNOWN or self.successes >= self.rise):
                self.state = Health.HEALTHY
        else:
            self.failures += 1
            self.successes = 0
            self.last_error = error or "probe failed"
            if old is not Health.UNHEALTHY and (
                old is Health.UNKNOWN or self.failures >= self.fall
            ):
                self.state = Health.UNHEALTHY
        if self.state is old:
            return None
        self.since = self._clock()
        return old, self.state

    def reason(self) -> str | None:
        """Why the instance is out, e.g. "unhealthy: 3 failed probes: connection refused"."""
        if self.serving:
            return None
        if self.failures:
            return f"unhealthy: {_plural(self.failures, 'failed probe')}: {self.last_error}"
        return f"unhealthy: {self.successes} of {self.rise} probes needed to return succeeded"


EjectionHook = Callable[[str, bool, str], None]
"""`on_change(key, ejected, reason)`: an instance was ejected (True) or returned (False)."""


@dataclass(frozen=True, slots=True)
class OutlierSnapshot:
    """One instance's outlier-detection state, for a status API."""

    ejected: bool
    remaining: float
    """Seconds until it returns; 0 when not ejected."""
    times_ejected: int
    """The ejection-time multiplier: ejections not yet worked off by time in service."""
    consecutive_failures: int
    reason: str | None


class _Member:
    __slots__ = ("consecutive", "last", "returned_at", "times", "until", "why")

    def __init__(self) -> None:
        self.consecutive = 0
        self.times = 0
        self.until: float | None = None  # set while ejected
        self.returned_at = 0.0
        self.why = ""
        self.last: Failure | None = None


class OutlierDetector:
    """Passive outlier detection over one pool of instances, keyed like `Candidate.key`, with
    one `config` for the whole pool (the config loader keeps a model's instances agreeing).

    Failures are those of `breaker.classify` whose `ejects` is true (a 429 neither counts nor
    resets the run); any other outcome resets it. How many may be out at once: every instance
    at 100%; otherwise floor(n * percent / 100), but at least one (as Envoy) and at most n - 1,
    so a pool of one never ejects its only instance.
    """

    def __init__(
        self,
        config: OutlierConfig,
        keys: Iterable[str],
        *,
        clock: Clock = time.monotonic,
        on_change: EjectionHook | None = None,
    ) -> None:
        self.config = config
        self._enabled = config.enabled  # read per request: an own attribute reads faster
        self._clock = clock
        self._on_change = on_change
        self._members = {key: _Member() for key in keys}
        self._ejected: set[str] = set()

    def record(self, key: str, failure: Failure | None) -> bool:
        """Feed one live-traffic outcome of `key`; True when it ejected the instance."""
        member = self._members[key]
        if not self._enabled:
            return False
        if failure is None:
            member.consecutive = 0
            return False
        if not failure.ejects:
            return False
        now = self._clock()
        self._return_due(now)
        member.consecutive += 1
        member.last = failure
        if key in self._ejected or member.consecutive < self.config.consecutive_failures:
            return False
        if len(self._ejected) >= self.capacity():
            return False  # the run keeps counting: the next failure tries again
        self._eject(key, member, now)
        return True

    def capacity(self) -> int:
        """How many of the pool's instances may be ejected at once."""
        n, percent = len(self._members), self.config.max_ejection_percent
        if percent >= 100:
            return n
        return min(n - 1, max(1, n * percent // 100))

    def _eject(self, key: str, member: _Member, now: float) -> None:
        cfg = self.config
        if member.times:
            # Envoy lowers the multiplier for time served without ejection; one step per base.
            served = now - member.returned_at
            member.times = max(0, member.times - int(served // cfg.base_ejection_time))
        member.times += 1
        duration = min(cfg.base_ejection_time * member.times, cfg.max_ejection_time)
        member.until = now + duration
        member.why = f"{member.consecutive} consecutive failures (last: {member.last})"
        member.consecutive = 0
        self._ejected.add(key)
        if self._on_change is not None:
            self._on_change(key, True, f"ejected for {duration:g}s: {member.why}")

    def _return_due(self, now: float) -> None:
        for key in [k for k in self._ejected if now >= (self._members[k].until or 0.0)]:
            member = self._members[key]
            assert member.until is not None
            member.returned_at = member.until  # back from then, however late this is noticed
            member.until = None
            member.consecutive = 0
            self._ejected.discard(key)
            if self._on_change is not None:
                self._on_change(key, False, f"ejection ended after {member.why}")

    def ejected(self, key: str) -> bool:
        """Whether `key` is out now."""
        if not self._ejected:
            return False  # the usual case, asked on every request: no clock, no scan
        self._return_due(self._clock())
        return key in self._ejected

    def ejected_keys(self) -> set[str]:
        self._return_due(self._clock())
        return set(self._ejected)

    def reason(self, key: str) -> str | None:
        """Why `key` is out, e.g. "ejected for 25s: 5 consecutive failures (last: HTTP 503)"."""
        snap = self.snapshot(key)
        return snap.reason

    def snapshot(self, key: str) -> OutlierSnapshot:
        now = self._clock()
        self._return_due(now)
        member = self._members[key]
        remaining = max(0.0, member.until - now) if member.until is not None else 0.0
        ejected = key in self._ejected
        reason = f"ejected for {math.ceil(remaining)}s: {member.why}" if ejected else None
        return OutlierSnapshot(ejected, remaining, member.times, member.consecutive, reason)


def unavailable_message(out: Iterable[tuple[str, str]]) -> str:
    """The 503 message when no instance of a pool can take a request.

    `out` holds (label, reason) pairs, e.g. ("a@http://10.0.0.5:8000", "circuit open for 12s"):
    "no instance available: a@http://10.0.0.5:8000 (circuit open for 12s), b@... (unhealthy: ...)".
    """
    listed = ", ".join(f"{label} ({reason})" for label, reason in out)
    return f"no instance available: {listed}" if listed else "no instance available"
