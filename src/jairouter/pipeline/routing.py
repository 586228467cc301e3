"""Choose instance: instances grouped by (service, model), each group with its balancer, its
outlier detector and its retry policy; each instance with its breaker and instance-scoped limits."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping

import aiohttp

from jairouter.adapters.base import Adapter, AdapterFactory
from jairouter.config.masking import without_password
from jairouter.config.models import Config, InstanceConfig
from jairouter.config.resilience import FallbackConfig, RetryConfig
from jairouter.core.balancers import Balancer, make_balancer
from jairouter.core.breaker import CircuitBreaker, State
from jairouter.core.cache import TTLCache
from jairouter.core.health import OutlierDetector
from jairouter.core.limits import ScopedLimit
from jairouter.core.retry import RetryBudget
from jairouter.core.stats import InstanceStats, PoolStats
from jairouter.errors import ModelDisabled, ModelNotFound
from jairouter.types import ServiceType

Clock = Callable[[], float]
log = logging.getLogger("jairouter.breaker")


def _log_transition(label: str, old: State, new: State, reason: str) -> None:
    level = logging.WARNING if new is State.OPEN else logging.INFO
    log.log(level, "circuit of %s: %s -> %s (%s)", label, old.value, new.value, reason)


class Target:
    """One configured instance at run time: its adapter, timeouts, breaker and live counters."""

    __slots__ = (
        "adapter",
        "breaker",
        "config",
        "connect",
        "first_byte",
        "idle",
        "inflight",
        "key",
        "label",
        "limits",
        "service",
        "settings",
        "stats",
        "total",
        "weight",
    )

    def __init__(
        self,
        service: ServiceType,
        config: InstanceConfig,
        adapter: Adapter,
        root: Config,
        clock: Clock,
    ) -> None:
        self.service = service
        self.config = config
        self.adapter = adapter
        self.settings = settings_of(service, config, root)
        self.key = target_key(service, config)
        self.label = f"{config.model}@{without_password(config.url)}"
        self.weight = config.weight
        self.inflight = 0
        self.stats = InstanceStats()
        timeouts = root.timeouts_of(service, config)
        # aiohttp bounds connecting; each exchange's Watchdog the rest (first byte, silences
        # between body chunks, the whole exchange) with a single timer.
        self.connect = aiohttp.ClientTimeout(total=None, sock_connect=timeouts.connect)
        self.first_byte = timeouts.first_byte
        self.idle = timeouts.idle
        self.total = timeouts.total
        self.breaker = CircuitBreaker(
            root.breaker_of(service, config),
            clock=clock,
            on_transition=functools.partial(_log_transition, self.label),
        )
        self.limits = [
            ScopedLimit(limit, clock)
            for limit in root.rate_limits_of(service, config)
            if limit.scope == "instance"
        ]


def target_key(service: ServiceType, config: InstanceConfig) -> str:
    return f"{service.value}|{config.model}|{config.url}"


def settings_of(service: ServiceType, config: InstanceConfig, root: Config) -> tuple[object, ...]:
    """Everything a Target is built from: equal settings let a reload keep the live Target
    (its breaker, limits, in-flight count and metrics counters) instead of starting it afresh."""
    return (
        config,
        root.timeouts_of(service, config),
        root.breaker_of(service, config),
        root.rate_limits_of(service, config),
    )


class Pool:
    """The instances serving one model of one service, and how to choose among them."""

    __slots__ = (
        "balancer",
        "budget",
        "cache",
        "cache_max_body",
        "model",
        "model_header",
        "outliers",
        "retry",
        "service",
        "stats",
        "targets",
    )

    def __init__(
        self,
        service: ServiceType,
        model: str,
        targets: list[Target],
        root: Config,
        clock: Clock,
        rng: random.Random | None,
        previous: Pool | None = None,
    ) -> None:
        self.service = service
        self.model = model
        self.targets = targets
        self.balancer: Balancer = make_balancer(root.load_balance_of(service), rng=rng)
        # One detector per pool, as Envoy has one per cluster: loading rejects a config whose
        # instances of one model get different outlier settings, so the first speaks for all.
        outlier = root.health_check_of(service, targets[0].config).outlier
        keys = [t.key for t in targets]
        self.outliers: OutlierDetector
        self.budget: RetryBudget
        same_members = previous is not None and [t.key for t in previous.targets] == keys
        if previous is not None and same_members and previous.outliers.config == outlier:
            self.outliers = previous.outliers  # ejections survive a reload
        else:
            self.outliers = OutlierDetector(outlier, keys, clock=clock)
        self.stats: PoolStats = previous.stats if previous is not None else PoolStats()
        self.retry: RetryConfig = root.retry_of(service)
        if previous is not None and previous.retry == self.retry:
            self.budget = previous.budget
        else:
            self.budget = RetryBudget(
                self.retry.budget_percent, self.retry.min_per_second, clock=clock
            )
        # Tells the client which model answered, which matters once fallbacks exist.
        self.model_header = (b"x-jairouter-model", model.encode())
        fallback = root.services[service].fallback
        cache = fallback.cache if fallback else None
        self.cache: TTLCache[tuple[bytes, bytes]] | None = (
            TTLCache(cache.max_entries, cache.ttl, clock=clock)
            if cache is not None and cache.enabled
            else None
        )
        self.cache_max_body = int(cache.max_body_size) if cache is not None else 0


class RouteTable:
    """Every pool of a config, looked up by the request's service and model."""

    def __init__(
        self,
        config: Config,
        adapters: Mapping[str, AdapterFactory],
        rng: random.Random | None = None,
        clock: Clock = time.monotonic,
        previous: RouteTable | None = None,
    ) -> None:
        """With `previous` (a reload), instances whose settings did not change keep their live
        state: breaker, limits, in-flight count, outlier ejections, retry budget."""
        live = {t.key: t for t in previous.targets()} if previous is not None else {}
        self._pools: dict[ServiceType, dict[str, Pool]] = {}
        self._fallbacks: dict[ServiceType, FallbackConfig] = {}
        # Models configured with every instance disabled, and one such instance's URL.
        self._disabled: dict[ServiceType, dict[str, str]] = {}
        for service, svc in config.services.items():
            grouped: dict[str, list[Target]] = {}
            disabled: dict[str, str] = {}
            for inst in svc.instances:
                if not inst.enabled:
                    disabled.setdefault(inst.model, inst.url)
                    continue
                old = live.get(target_key(service, inst))
                if old is not None and old.settings == settings_of(service, inst, config):
                    target = old
                else:
                    target = Target(service, inst, adapters[inst.adapter](inst), config, clock)
                grouped.setdefault(inst.model, []).append(target)
            old_pools = previous._pools.get(service, {}) if previous is not None else {}
            self._pools[service] = {
                model: Pool(service, model, targets, config, clock, rng, old_pools.get(model))
                for model, targets in grouped.items()
            }
            if svc.fallback is not None:
                self._fallbacks[service] = svc.fallback
            self._disabled[service] = {m: u for m, u in disabled.items() if m not in grouped}

    def pool(self, service: ServiceType, model: str) -> Pool:
        pools = self._pools.get(service)
        pool = pools.get(model) if pools else None
        if pool is None:
            url = self._disabled.get(service, {}).get(model)
            if url is not None:
                raise ModelDisabled(_disabled_message(service, model, url), param="model")
            raise ModelNotFound(self._not_found_message(service, model), param="model")
        return pool

    def fallback(self, service: ServiceType) -> FallbackConfig | None:
        return self._fallbacks.get(service)

    def fallback_pools(self, service: ServiceType, model: str) -> list[Pool]:
        """The pools to try, in order, after the requested model's own pool failed."""
        fallback = self._fallbacks.get(service)
        if fallback is None:
            return []
        pools = self._pools.get(service, {})
        return [pools[name] for name in fallback.models.get(model, ()) if name in pools]

    def models(self) -> dict[str, list[ServiceType]]:
        """Every configured model name with the services that serve it, in config order."""
        found: dict[str, list[ServiceType]] = {}
        for service, pools in self._pools.items():
            for model in pools:
                found.setdefault(model, []).append(service)
        return found

    def pools(self) -> Iterator[Pool]:
        for pools in self._pools.values():
            yield from pools.values()

    def targets(self) -> Iterator[Target]:
        for pool in self.pools():
            yield from pool.targets

    def _not_found_message(self, service: ServiceType, model: str) -> str:
        elsewhere = self.models().get(model)
        if len(model) > 100:  # never echo a huge name back
            model = model[:100] + "…"
        if elsewhere:
            kinds = ", ".join(s.value for s in elsewhere)
            return f"the model {model!r} is not a {service.value} model (it serves: {kinds})"
        available = sorted(self._pools.get(service, {}))
        listing = ", ".join(available) if available else "none are configured"
        return f"the model {model!r} does not exist for {service.value}; available: {listing}"


def _disabled_message(service: ServiceType, model: str, url: str) -> str:
    url = without_password(url)
    return (
        f"every instance of the {service.value} model {model!r} is disabled; enable one with "
        f"`jairouter backends enable {service.value} {model} {url}` "
        "or POST /admin/instances/enable"
    )
