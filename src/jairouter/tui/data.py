"""Fetching GET /admin/status and shaping it into what `jairouter top` shows.

The widgets never see HTTP: `StatusSource.fetch` returns the raw snapshot or raises
`Disconnected`, and `Shaper.shape` turns successive snapshots into a `Frame` with rates.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

TOKEN_ENV = "JAIROUTER_ADMIN_TOKEN"


class Disconnected(Exception):
    """The router did not answer GET /admin/status usefully; `reason` says why, briefly."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StatusSource:
    """Reads a router's status snapshot over one kept-alive `httpx.AsyncClient`."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 2.0) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(base_url=self.url, headers=headers, timeout=timeout)

    async def fetch(self) -> Mapping[str, Any]:
        """The snapshot as JSON; any transport error, refusal or bad body is `Disconnected`."""
        try:
            answer = await self._client.get("/admin/status")
        except httpx.HTTPError as exc:
            raise Disconnected(_describe(exc)) from exc
        if answer.status_code == 401:
            raise Disconnected(f"admin API refused the request: set --token or ${TOKEN_ENV}")
        if answer.status_code != 200:
            raise Disconnected(f"HTTP {answer.status_code} from /admin/status")
        try:
            body = answer.json()
        except ValueError as exc:
            raise Disconnected("/admin/status did not answer JSON") from exc
        if not isinstance(body, dict):
            raise Disconnected("/admin/status answered an unexpected shape")
        return body

    async def aclose(self) -> None:
        await self._client.aclose()


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(frozen=True)
class Instance:
    """One row of the table: an instance's state, plain values only (no styling)."""

    key: str
    service: str
    model: str
    url: str
    healthy: bool | None
    health_reason: str | None
    ejected: bool
    circuit: str
    circuit_retry_in: float
    inflight: int
    requests: int
    rps: float | None
    p50_ms: float | None
    p95_ms: float | None
    error_rate: float | None
    weight: float

    def matches(self, text: str) -> bool:
        """Whether the filter `text` (case-insensitive) appears in the identifying fields."""
        needle = text.lower()
        fields = (self.service, self.model, self.url, self.circuit, self.health_reason or "")
        return any(needle in field.lower() for field in fields)


@dataclass(frozen=True)
class Frame:
    """Everything one poll shows: the header's figures and the instances."""

    version: str
    uptime: float
    generation: int | None
    reload_error: str | None
    total_rps: float | None
    instances: tuple[Instance, ...]


class Shaper:
    """Turns snapshots into frames; keeps the previous poll's counters to compute req/s."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: tuple[float, dict[str, int]] | None = None

    def shape(self, snapshot: Mapping[str, Any]) -> Frame:
        now = self._clock()
        counts: dict[str, int] = {}
        instances: list[Instance] = []
        services = snapshot.get("services") or {}
        for service, entries in services.items():
            for entry in entries:
                key = _unique(f"{service} {entry.get('model')} {entry.get('url')}", counts)
                counts[key] = int(entry.get("requests") or 0)
                instances.append(self._instance(key, service, entry, counts[key], now))
        rates = [instance.rps for instance in instances if instance.rps is not None]
        total = sum(rates) if rates else None
        config = snapshot.get("config") or {}
        frame = Frame(
            version=str(snapshot.get("version", "?")),
            uptime=float(snapshot.get("uptime") or 0.0),
            generation=config.get("generation"),
            reload_error=config.get("reload_error"),
            total_rps=total,
            instances=tuple(instances),
        )
        self._last = (now, counts)
        return frame

    def forget(self) -> None:
        """Drop the previous counters (after a disconnect the router may have restarted)."""
        self._last = None

    def _previous(self) -> dict[str, int]:
        return self._last[1] if self._last is not None else {}

    def _rate(self, current: int, previous: int, now: float) -> float | None:
        if self._last is None or now <= self._last[0]:
            return None
        # a restarted router resets its counters: show nothing rather than a negative rate
        return max(current - previous, 0) / (now - self._last[0])

    def _instance(
        self, key: str, service: str, entry: Mapping[str, Any], requests: int, now: float
    ) -> Instance:
        previous = self._previous().get(key)
        errors = int(entry.get("errors") or 0)
        return Instance(
            key=key,
            service=service,
            model=str(entry.get("model", "")),
            url=str(entry.get("url", "")),
            healthy=entry.get("healthy"),
            health_reason=entry.get("health_reason"),
            ejected=bool(entry.get("ejected")),
            circuit=str(entry.get("circuit", "closed")),
            circuit_retry_in=float(entry.get("circuit_retry_in") or 0.0),
            inflight=int(entry.get("inflight") or 0),
            requests=requests,
            rps=None if previous is None else self._rate(requests, previous, now),
            p50_ms=entry.get("p50_ms"),
            p95_ms=entry.get("p95_ms"),
            error_rate=errors / requests if requests else None,
            weight=float(entry.get("weight") or 0.0),
        )


def _unique(key: str, taken: Mapping[str, int]) -> str:
    # the same model and url listed twice in one service still get a row each
    candidate, n = key, 1
    while candidate in taken:
        n += 1
        candidate = f"{key} #{n}"
    return candidate
