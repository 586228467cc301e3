"""Choose instance: instances grouped by (service, model), each group with its balancer."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping

import aiohttp

from jairouter.adapters.base import Adapter, AdapterFactory
from jairouter.config.models import Config, InstanceConfig
from jairouter.core.balancers import Balancer, make_balancer
from jairouter.errors import ModelNotFound
from jairouter.types import ServiceType


class Target:
    """One configured instance at run time: its adapter, timeouts and live counters."""

    __slots__ = (
        "adapter",
        "config",
        "first_byte",
        "inflight",
        "key",
        "service",
        "timeout",
        "weight",
    )

    def __init__(
        self, service: ServiceType, config: InstanceConfig, adapter: Adapter, root: Config
    ) -> None:
        self.service = service
        self.config = config
        self.adapter = adapter
        self.key = f"{service.value}|{config.model}|{config.url}"
        self.weight = config.weight
        self.inflight = 0
        timeouts = root.timeouts_of(service, config)
        # Time to response headers is bounded separately (first_byte); aiohttp bounds the rest.
        self.first_byte = timeouts.first_byte
        self.timeout = aiohttp.ClientTimeout(total=timeouts.total, sock_connect=timeouts.connect)

    @property
    def label(self) -> str:
        return f"{self.config.model}@{self.config.url}"


class Pool:
    """The instances serving one model of one service, and how to choose among them."""

    __slots__ = ("balancer", "targets")

    def __init__(self, targets: list[Target], balancer: Balancer) -> None:
        self.targets = targets
        self.balancer = balancer

    def pick(self, client: str) -> Target:
        return self.balancer.pick(self.targets, client)


class RouteTable:
    """Every pool of a config, looked up by the request's service and model."""

    def __init__(
        self,
        config: Config,
        adapters: Mapping[str, AdapterFactory],
        rng: random.Random | None = None,
    ) -> None:
        self._pools: dict[ServiceType, dict[str, Pool]] = {}
        for service, svc in config.services.items():
            grouped: dict[str, list[Target]] = {}
            for inst in svc.instances:
                target = Target(service, inst, adapters[inst.adapter](inst), config)
                grouped.setdefault(inst.model, []).append(target)
            strategy = config.load_balance_of(service)
            self._pools[service] = {
                model: Pool(targets, make_balancer(strategy, rng=rng))
                for model, targets in grouped.items()
            }

    def pool(self, service: ServiceType, model: str) -> Pool:
        pools = self._pools.get(service)
        pool = pools.get(model) if pools else None
        if pool is None:
            raise ModelNotFound(self._not_found_message(service, model), param="model")
        return pool

    def models(self) -> dict[str, list[ServiceType]]:
        """Every configured model name with the services that serve it, in config order."""
        found: dict[str, list[ServiceType]] = {}
        for service, pools in self._pools.items():
            for model in pools:
                found.setdefault(model, []).append(service)
        return found

    def targets(self) -> Iterator[Target]:
        for pools in self._pools.values():
            for pool in pools.values():
                yield from pool.targets

    def _not_found_message(self, service: ServiceType, model: str) -> str:
        elsewhere = self.models().get(model)
        if elsewhere:
            kinds = ", ".join(s.value for s in elsewhere)
            return f"the model {model!r} is not a {service.value} model (it serves: {kinds})"
        available = sorted(self._pools.get(service, {}))
        listing = ", ".join(available) if available else "none are configured"
        return f"the model {model!r} does not exist for {service.value}; available: {listing}"
