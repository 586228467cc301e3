"""What to probe for one configured instance: URL, headers and the model it should list.

Adapters are passed in, not imported (health sits beside adapters in the layering): anything
with a `probe_path`, a server `root` and precomputed `headers` can be probed, which every adapter
in `jairouter.adapters.registry` has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from jairouter.config.models import Config, InstanceConfig
from jairouter.config.resilience import HealthCheckConfig
from jairouter.types import ServiceType


@runtime_checkable
class Probeable(Protocol):
    """What an adapter offers for probing."""

    probe_path: ClassVar[str]
    """Cheap GET below the server root that answers while the server is up (its model list)."""
    root: str
    """The server root: the configured URL without the product's API prefix."""
    headers: Mapping[str, str]
    """Headers of every request to the instance, auth included."""


CheckOf = Callable[[ServiceType, InstanceConfig], HealthCheckConfig]
"""The effective `health_check` settings of an instance (narrowest level wins)."""


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """One instance to probe."""

    key: str
    """Same identity as the router's `Target.key`: "service|model|url"."""
    service: ServiceType
    model: str
    upstream_model: str
    """The name the server should list (the model sent upstream)."""
    url: str
    adapter: str
    probe_url: str
    headers: Mapping[str, str]
    check: HealthCheckConfig
    lists_models: bool
    """True when the probe asks for the adapter's model list (no custom `path`)."""

    @property
    def label(self) -> str:
        return f"{self.model}@{self.url}"


def probe_target(
    service: ServiceType, instance: InstanceConfig, adapter: object, check: HealthCheckConfig
) -> ProbeTarget:
    """The probe of `instance`, spoken to through `adapter` (built from it)."""
    if not isinstance(adapter, Probeable):
        raise TypeError(f"adapter {instance.adapter!r} does not say how to probe its servers")
    path = check.path or adapter.probe_path
    return ProbeTarget(
        key=f"{service.value}|{instance.model}|{instance.url}",
        service=service,
        model=instance.model,
        upstream_model=instance.sent_model,
        url=instance.url,
        adapter=instance.adapter,
        probe_url=adapter.root + path,
        headers=adapter.headers,
        check=check,
        lists_models=check.path is None,
    )


def probe_targets(
    config: Config,
    adapters: Mapping[str, Callable[[InstanceConfig], object]],
    check_of: CheckOf | None = None,
) -> Iterator[ProbeTarget]:
    """Every instance of `config` in file order; `check_of` defaults to default settings."""
    default = HealthCheckConfig()
    for service, svc in config.services.items():
        for inst in svc.instances:
            if not inst.enabled:
                continue  # kept in the file, out of service: nothing to check
            check = check_of(service, inst) if check_of is not None else default
            yield probe_target(service, inst, adapters[inst.adapter](inst), check)
