"""Fixed status snapshots and a source that serves them, for screens that must look the same
on every run (no router, no wall clock)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Mapping
from typing import Any

from jairouter.tui.app import TopApp
from jairouter.tui.data import Shaper
from jairouter.tui.source import Disconnected, Snapshot

URL = "http://router.example:8080"
A, B, C = "http://gpu-a:8000", "http://gpu-b:8000", "http://ollama:11434"


def instance(model: str, url: str, requests: int, inflight: int, **state: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "model": model,
        "url": url,
        "adapter": "openai",
        "weight": 1,
        "inflight": inflight,
        "circuit": "closed",
        "circuit_retry_in": 0.0,
        "healthy": True,
        "health_reason": None,
        "ejected": False,
        "requests": requests,
        "errors": requests // 50,
        "throttled": 0,
        "p50_ms": 180.0,
        "p95_ms": 740.0,
        "ttft_p50_ms": 95.0,
        "recent_errors": [],
        "limits": [],
    }
    entry.update(state)
    return entry


BUCKET = {"scope": "instance", "unit": "requests", "algorithm": "token-bucket"}


def snapshot(step: int, degraded: bool = False) -> dict[str, Any]:
    """The router at `step` seconds into the fixture: counters grow at steady rates."""
    trouble: dict[str, Any] = {}
    if degraded:
        trouble = {
            "circuit": "open",
            "circuit_retry_in": 12.4,
            "healthy": False,
            "health_reason": "HTTP 503 from /health",
            "errors": 40 + step,
            "recent_errors": [
                {"at": 1_790_000_000.0, "kind": "server error", "detail": "HTTP 502"},
                {"at": 1_790_000_004.0, "kind": "connect", "detail": "connection refused"},
            ],
        }
    return {
        "version": "0.1.0",
        "uptime": 3725.0 + step,
        "config": {"generation": 3, "applied_at": 1_790_000_000.0, "reload_error": None},
        "services": {
            "chat": [
                instance(
                    "llama3",
                    A,
                    1000 + 12 * step * step,
                    7,
                    limits=[{**BUCKET, "capacity": 100.0, "available": 37.5}],
                ),
                instance("llama3", B, 800 + 9 * step, 0 if degraded else 3, **trouble),
                instance("mistral", C, 300 + 3 * step, 1, weight=2, throttled=4),
            ],
            "embedding": [instance("bge-m3", C, 5000 + 40 * step, 2, ttft_p50_ms=None)],
        },
        "service_state": {
            "chat": {
                "load_balance": "least-connections",
                "rate_limited": 7,
                "disabled": [{"model": "qwen2", "url": "http://spare:8000"}],
            },
            "embedding": {"load_balance": "round-robin", "rate_limited": 0, "disabled": []},
        },
        "service_limits": {
            "chat": [
                {"scope": "service", "unit": "tokens", "algorithm": "token-bucket",
                 "capacity": 50000.0, "available": 4200.0},
                {"scope": "client", "unit": "requests", "algorithm": "sliding-window",
                 "capacity": None, "available": None, "keys": 12},
            ],
        },
    }  # fmt: skip


class FixedSource:
    """Serves `snapshots` once, then either nothing more (the screen holds still) or, with
    `gone`, a disconnect on that and every later attempt."""

    url = URL

    def __init__(self, snapshots: list[Snapshot], gone: str | None = None) -> None:
        self._snapshots = snapshots
        self._gone = gone
        self._served = False
        self.acted: list[tuple[str, Mapping[str, str]]] = []

    async def snapshots(self, interval: float) -> AsyncIterator[Snapshot]:
        if not self._served:
            self._served = True
            for item in self._snapshots:
                yield item
        if self._gone is not None:
            raise Disconnected(self._gone)
        await asyncio.Event().wait()

    async def act(self, path: str, body: Mapping[str, str]) -> None:
        self.acted.append((path, body))

    async def aclose(self) -> None:
        return None


def fixed_app(snapshots: list[Snapshot], gone: str | None = None) -> TopApp:
    """A `TopApp` on fixed data whose clock steps one second per snapshot."""
    clock = itertools.count(100.0)
    return TopApp(FixedSource(snapshots, gone), interval=1.0, shaper=Shaper(lambda: next(clock)))
