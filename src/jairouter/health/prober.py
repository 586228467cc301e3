"""The background task that probes every instance on its interval and keeps its health.

Each target has its own loop (probe, then sleep `interval` plus up to `jitter`), so a slow or
hanging instance delays nobody else's probes, and probing never waits for request handling nor
the other way round: a probe is a few awaits on its own client. The loops run in one task
group under one named task, which `start()` keeps a reference to and `stop()` cancels.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence

import httpx

from jairouter.config.resilience import HealthCheckConfig
from jairouter.core.breaker import Clock
from jairouter.core.health import Health, ProbeHealth
from jairouter.core.stats import Histogram
from jairouter.health.probe import ProbeResult, new_client, probe
from jairouter.health.target import ProbeTarget

log = logging.getLogger("jairouter.health")

Sleep = Callable[[float], Awaitable[None]]
ResultHook = Callable[[ProbeTarget, ProbeResult], None]
ChangeHook = Callable[[ProbeTarget, Health, Health, str], None]
"""`on_change(target, old, new, reason)` when an instance turns healthy or unhealthy."""

TASK_NAME = "jairouter-prober"


class Prober:
    """Active health checks of `targets` (those whose `check.enabled` is false are skipped).

    `health[key]` is each target's `ProbeHealth`; `last[key]` its latest `ProbeResult`;
    `durations[key]` a histogram of its probes' latency, for the metrics. Inject
    `sleep` (and `clock`, which dates state changes) so tests need not wait real intervals,
    `rng` to make jitter repeatable, and `client` to share one httpx client (else the prober
    opens its own and closes it when it stops).
    """

    def __init__(
        self,
        targets: Sequence[ProbeTarget],
        *,
        client: httpx.AsyncClient | None = None,
        on_result: ResultHook | None = None,
        on_change: ChangeHook | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.targets = [t for t in targets if t.check.enabled]
        self.health = {t.key: ProbeHealth.from_config(t.check, clock=clock) for t in self.targets}
        self.last: dict[str, ProbeResult] = {}
        self.durations = {t.key: Histogram() for t in self.targets}
        self._client = client
        self._on_result = on_result
        self._on_change = on_change
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._task: asyncio.Task[None] | None = None

    def check_of(self, key: str) -> HealthCheckConfig | None:
        """The settings `key` is probed with, or None if it is not probed."""
        for target in self.targets:
            if target.key == key:
                return target.check
        return None

    def serving(self, key: str) -> bool:
        """Whether probes let `key` take traffic (instances not probed always may)."""
        health = self.health.get(key)
        return health is None or health.serving

    def reason(self, key: str) -> str | None:
        """Why probes keep `key` out, e.g. "unhealthy: 3 failed probes: connection refused"."""
        health = self.health.get(key)
        return health.reason() if health is not None else None

    def start(self) -> asyncio.Task[None]:
        """Run in the background of the running event loop until `stop()`."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name=TASK_NAME)
        return self._task

    async def stop(self) -> None:
        """Cancel the probes and wait until they are gone (and the owned client is closed)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # our caller is being cancelled too, not just the prober

    async def run(self) -> None:
        """Probe every target forever (until cancelled)."""
        if not self.targets:
            return
        client = self._client or new_client()
        try:
            async with asyncio.TaskGroup() as group:
                for target in self.targets:
                    group.create_task(self._watch(client, target), name=f"probe {target.label}")
        finally:
            if self._client is None:
                await client.aclose()

    async def _watch(self, client: httpx.AsyncClient, target: ProbeTarget) -> None:
        check = target.check
        await self._sleep(self._rng.uniform(0, check.jitter))
        while True:
            try:
                await self._probe(client, target)
            except Exception:  # a bug here must not stop the other instances' probes
                log.exception("probing %s failed unexpectedly", target.label)
            await self._sleep(check.interval + self._rng.uniform(0, check.jitter))

    async def _probe(self, client: httpx.AsyncClient, target: ProbeTarget) -> ProbeResult:
        """Probe `target` once and feed the result to its health."""
        result = await probe(client, target)
        self.last[target.key] = result
        self.durations[target.key].observe(result.latency)
        if self._on_result is not None:
            self._on_result(target, result)
        health = self.health[target.key]
        change = health.record(result.ok, result.error)
        if change is not None:
            old, new = change
            reason = health.reason() or f"{health.successes} probes in a row succeeded"
            level = logging.INFO if health.serving else logging.WARNING
            log.log(level, "%s is %s (was %s): %s", target.label, new, old, reason)
            if self._on_change is not None:
                self._on_change(target, old, new, reason)
        return result
