"""Shaping status snapshots into what `jairouter top` shows, without HTTP or widgets.

`Shaper.shape` turns successive snapshots into `Frame`s: rates come from counter deltas
between snapshots, and each instance keeps a short history of its rate for the trend column.
Fields a router does not send (an older version, no limits configured) read as absent.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

HISTORY = 120
"""Rate samples kept per instance: two minutes at the default one-second interval."""


@dataclass(frozen=True)
class Limit:
    """One rate limit's state: `available` of `capacity` (requests or tokens) left; a keyed
    limit (per client) has no single figure, only how many keys it tracks."""

    scope: str
    unit: str
    algorithm: str
    capacity: float | None
    available: float | None
    keys: int | None

    @property
    def left(self) -> float | None:
        """Share of the capacity still available, 0..1 (None when unknown)."""
        if self.capacity is None or self.available is None or self.capacity <= 0:
            return None
        return min(max(self.available / self.capacity, 0.0), 1.0)


@dataclass(frozen=True)
class RecentError:
    at: float  # epoch seconds
    kind: str
    detail: str


@dataclass(frozen=True)
class Instance:
    """One row of the instances table: plain values only (no styling)."""

    key: str
    service: str
    model: str
    url: str
    enabled: bool
    healthy: bool | None
    health_reason: str | None
    ejected: bool
    circuit: str
    circuit_retry_in: float
    inflight: int
    requests: int
    errors: int
    throttled: int
    rps: float | None
    history: tuple[float, ...]
    p50_ms: float | None
    p95_ms: float | None
    ttft_ms: float | None
    error_rate: float | None
    weight: float
    limits: tuple[Limit, ...]
    recent_errors: tuple[RecentError, ...]

    def matches(self, text: str) -> bool:
        """Whether the filter `text` (case-insensitive) appears in the identifying fields."""
        needle = text.lower()
        fields = (self.service, self.model, self.url, self.circuit, self.health_reason or "")
        return any(needle in field.lower() for field in fields)

    @property
    def ref(self) -> dict[str, str]:
        """The body naming this instance in the admin API's instance actions."""
        return {"service": self.service, "model": self.model, "url": self.url}


@dataclass(frozen=True)
class Service:
    """One row of the services table: its instances' totals and its own settings."""

    name: str
    strategy: str
    instances: int
    serving: int  # enabled, not unhealthy, not ejected, circuit not open
    inflight: int
    rps: float | None
    requests: int
    errors: int
    rate_limited: int
    limits: tuple[Limit, ...]


@dataclass(frozen=True)
class Frame:
    """Everything one snapshot shows."""

    version: str
    uptime: float
    generation: int | None
    reload_error: str | None
    total_rps: float | None
    throttled: int  # 429s: refused by the router's limits, or answered by an instance
    failed: int  # 5xx answers and exchanges with no answer
    services: tuple[Service, ...]
    instances: tuple[Instance, ...]
    workers: int | None = None  # processes the snapshot adds up (`serve --workers N`)


class Shaper:
    """Turns snapshots into frames; keeps the previous counters to compute req/s."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: tuple[float, dict[str, int]] | None = None
        self._history: dict[str, deque[float]] = {}

    def shape(self, snapshot: Mapping[str, Any]) -> Frame:
        now = self._clock()
        counts: dict[str, int] = {}
        instances: list[Instance] = []
        states = _mapping(snapshot.get("service_state"))
        for service, entries in _mapping(snapshot.get("services")).items():
            for entry in _entries(entries):
                key = _unique(f"{service} {entry.get('model')} {entry.get('url')}", counts)
                counts[key] = _int(entry.get("requests"))
                instances.append(self._instance(key, service, entry, now))
        for service, state in states.items():
            for entry in _entries(_mapping(state).get("disabled")):
                key = _unique(f"{service} {entry.get('model')} {entry.get('url')}", counts)
                counts[key] = 0
                instances.append(_disabled(key, service, entry))
        self._history = {i.key: self._history[i.key] for i in instances if i.key in self._history}
        self._last = (now, counts)
        rates = [i.rps for i in instances if i.rps is not None]
        config = _mapping(snapshot.get("config"))
        service_limits = _mapping(snapshot.get("service_limits"))
        services = tuple(
            _service(name, _mapping(states.get(name)), service_limits.get(name), instances)
            for name in dict.fromkeys([i.service for i in instances] + list(states))
        )
        return Frame(
            version=str(snapshot.get("version", "?")),
            uptime=float(snapshot.get("uptime") or 0.0),
            generation=config.get("generation"),
            reload_error=config.get("reload_error"),
            total_rps=sum(rates) if rates else None,
            throttled=sum(s.rate_limited for s in services) + sum(i.throttled for i in instances),
            failed=sum(i.errors for i in instances),
            services=services,
            instances=tuple(instances),
            workers=len(pids) if isinstance(pids := snapshot.get("workers"), list) else None,
        )

    def forget(self) -> None:
        """Drop the previous counters (after a disconnect the router may have restarted); the
        rate histories stay, they are what the screen showed."""
        self._last = None

    def _rate(self, key: str, requests: int, now: float) -> float | None:
        if self._last is None or key not in self._last[1] or now <= self._last[0]:
            return None
        # a restarted router resets its counters: show nothing rather than a negative rate
        return max(requests - self._last[1][key], 0) / (now - self._last[0])

    def _instance(self, key: str, service: str, entry: Mapping[str, Any], now: float) -> Instance:
        requests, errors = _int(entry.get("requests")), _int(entry.get("errors"))
        rps = self._rate(key, requests, now)
        history = self._history.setdefault(key, deque(maxlen=HISTORY))
        if rps is not None:
            history.append(rps)
        return Instance(
            key=key,
            service=service,
            model=str(entry.get("model", "")),
            url=str(entry.get("url", "")),
            enabled=True,
            healthy=entry.get("healthy"),
            health_reason=entry.get("health_reason"),
            ejected=bool(entry.get("ejected")),
            circuit=str(entry.get("circuit", "closed")),
            circuit_retry_in=float(entry.get("circuit_retry_in") or 0.0),
            inflight=_int(entry.get("inflight")),
            requests=requests,
            errors=errors,
            throttled=_int(entry.get("throttled")),
            rps=rps,
            history=tuple(history),
            p50_ms=entry.get("p50_ms"),
            p95_ms=entry.get("p95_ms"),
            ttft_ms=entry.get("ttft_p50_ms"),
            error_rate=errors / requests if requests else None,
            weight=float(entry.get("weight") or 0.0),
            limits=_limits(entry.get("limits")),
            recent_errors=tuple(
                RecentError(float(e.get("at") or 0.0), str(e.get("kind")), str(e.get("detail")))
                for e in _entries(entry.get("recent_errors"))
            ),
        )


def _disabled(key: str, service: str, entry: Mapping[str, Any]) -> Instance:
    """A disabled instance: listed (so it can be enabled again) with nothing live to show."""
    return Instance(
        key=key,
        service=service,
        model=str(entry.get("model", "")),
        url=str(entry.get("url", "")),
        enabled=False,
        healthy=None,
        health_reason=None,
        ejected=False,
        circuit="-",
        circuit_retry_in=0.0,
        inflight=0,
        requests=0,
        errors=0,
        throttled=0,
        rps=None,
        history=(),
        p50_ms=None,
        p95_ms=None,
        ttft_ms=None,
        error_rate=None,
        weight=0.0,
        limits=(),
        recent_errors=(),
    )


def _service(
    name: str, state: Mapping[str, Any], limits: object, instances: Iterable[Instance]
) -> Service:
    mine = [i for i in instances if i.service == name and i.enabled]
    rates = [i.rps for i in mine if i.rps is not None]
    return Service(
        name=name,
        strategy=str(state.get("load_balance") or "-"),
        instances=len(mine),
        serving=sum(1 for i in mine if serving(i)),
        inflight=sum(i.inflight for i in mine),
        rps=sum(rates) if rates else None,
        requests=sum(i.requests for i in mine),
        errors=sum(i.errors for i in mine),
        rate_limited=_int(state.get("rate_limited")),
        limits=_limits(limits),
    )


def serving(instance: Instance) -> bool:
    """Whether the instance can take traffic now."""
    return (
        instance.enabled
        and instance.healthy is not False
        and not instance.ejected
        and instance.circuit != "open"
    )


def _limits(raw: object) -> tuple[Limit, ...]:
    return tuple(
        Limit(
            scope=str(entry.get("scope", "")),
            unit=str(entry.get("unit", "requests")),
            algorithm=str(entry.get("algorithm", "")),
            capacity=_float(entry.get("capacity")),
            available=_float(entry.get("available")),
            keys=entry.get("keys") if isinstance(entry.get("keys"), int) else None,
        )
        for entry in _entries(raw)
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _entries(value: object) -> list[Mapping[str, Any]]:
    return [e for e in value if isinstance(e, Mapping)] if isinstance(value, list) else []


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _unique(key: str, taken: Mapping[str, int]) -> str:
    # the same model and url listed twice in one service still get a row each
    candidate, n = key, 1
    while candidate in taken:
        n += 1
        candidate = f"{key} #{n}"
    return candidate
