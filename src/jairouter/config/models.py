"""The config file's schema. Unknown keys are errors; every field is described.

Layered settings (`load_balance`, `timeouts`, and later `rate_limit`, `circuit_breaker`, …) may be
set under `defaults:`, a service, or an instance; the narrowest level wins, field by field.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar, cast
from urllib.parse import urlsplit

from pydantic import (
    BeforeValidator,
    ByteSize,
    Field,
    IPvAnyNetwork,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from jairouter.config.base import Conflict, Size, StrictModel, raise_conflicts
from jairouter.config.limits import RateLimitConfig
from jairouter.config.observability import LoggingConfig, TracingConfig
from jairouter.config.resilience import (
    CircuitBreakerConfig,
    FallbackConfig,
    HealthCheckConfig,
    RetryConfig,
)
from jairouter.types import ServiceType

LoadBalance = Literal["random", "round-robin", "least-connections", "ip-hash"]
LOAD_BALANCERS: tuple[str, ...] = ("random", "round-robin", "least-connections", "ip-hash")


class Timeouts(StrictModel):
    """Upstream timeouts in seconds; unset fields inherit from the wider level."""

    connect: Annotated[float, Field(gt=0)] | None = Field(
        None, description="Seconds to establish the TCP/TLS connection to an instance."
    )
    first_byte: Annotated[float, Field(gt=0)] | None = Field(
        None,
        description="Seconds from sending the request until the upstream's response headers "
        "arrive.",
    )
    idle: Annotated[float, Field(gt=0)] | None = Field(
        None, description="Seconds a stream may go without a new event once it has begun."
    )
    total: Annotated[float, Field(gt=0)] | None = Field(
        None, description="Seconds for the whole upstream exchange, stream included."
    )


DEFAULT_TIMEOUTS = Timeouts(connect=10.0, first_byte=300.0, idle=120.0, total=600.0)


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, dict) else value


# One block or a list of them; always a list once read, so errors point at one shape.
RateLimits = Annotated[list[RateLimitConfig], BeforeValidator(_one_or_many)]

_LAYERED_DOCS = {
    "rate_limit": "Rate limit(s): one block or a list, one per scope.",
    "circuit_breaker": "When failures stop traffic to an instance, and for how long.",
    "health_check": "Active probes and passive outlier detection.",
    "retry": "Retries on another instance before any byte reached the client.",
}


class Layered(StrictModel):
    """The resilience settings any level (defaults, service, instance) may set."""

    rate_limit: RateLimits | None = Field(None, description=_LAYERED_DOCS["rate_limit"])
    circuit_breaker: CircuitBreakerConfig | None = Field(
        None, description=_LAYERED_DOCS["circuit_breaker"]
    )
    health_check: HealthCheckConfig | None = Field(None, description=_LAYERED_DOCS["health_check"])


class ServiceLayered(Layered):
    """What defaults and services may set beyond an instance: retries choose another instance,
    so they are planned per service."""

    retry: RetryConfig | None = Field(None, description=_LAYERED_DOCS["retry"])


class InstanceConfig(Layered):
    """One upstream model server serving one model."""

    model: str = Field(
        min_length=1, description="The model name clients ask for (the request's `model`)."
    )
    url: str = Field(
        description="Base URL of the server, e.g. http://10.0.0.5:11434 (a trailing /v1 is fine)."
    )
    adapter: str = Field(
        "openai",
        description="Wire protocol of the server: openai, vllm, gpustack, xinference, localai, "
        "ollama.",
    )
    upstream_model: str | None = Field(
        None, min_length=1, description="Model name sent upstream when it differs from `model`."
    )
    weight: int = Field(1, ge=1, le=10_000, description="Relative share of traffic (1-10000).")
    enabled: bool = Field(
        True, description="false keeps the instance in the file but sends it no traffic."
    )
    api_key: str | None = Field(
        None, description="Key sent to the server as its product expects; use ${ENV_VAR}."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra HTTP headers sent with every upstream request."
    )
    timeouts: Timeouts | None = Field(None, description="Per-instance timeout overrides.")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        try:
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError as exc:
            raise ValueError(f"has an invalid port: {exc}") from None
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query string or fragment")
        return value.rstrip("/")

    @field_validator("adapter")
    @classmethod
    def _check_adapter(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("adapters")
        if known is not None and value not in known:
            raise ValueError(f"unknown adapter {value!r}; known: {', '.join(sorted(known))}")
        return value

    @property
    def sent_model(self) -> str:
        return self.upstream_model or self.model


class ServiceConfig(ServiceLayered):
    """Settings and instances of one service type."""

    load_balance: LoadBalance | None = Field(
        None, description="How requests spread over instances; inherits `defaults.load_balance`."
    )
    timeouts: Timeouts | None = Field(None, description="Timeout overrides for this service.")
    fallback: FallbackConfig | None = Field(
        None, description="Fallback models, a static answer or cached answers, in that order."
    )
    instances: list[InstanceConfig] = Field(
        default_factory=list, description="The upstream servers of this service."
    )

    @model_validator(mode="after")
    def _no_duplicates(self) -> ServiceConfig:
        first: dict[tuple[str, str], int] = {}
        conflicts: list[Conflict] = []
        for index, inst in enumerate(self.instances):
            key = (inst.model, inst.url)
            if key in first:
                reason = f"instance {inst.model} at {inst.url} repeats instances[{first[key]}]"
                conflicts.append((("instances", index), inst.url, reason))
            first.setdefault(key, index)
        raise_conflicts("ServiceConfig", conflicts)
        return self


class Defaults(ServiceLayered):
    """Settings every service inherits unless it sets its own."""

    load_balance: LoadBalance = Field(
        "round-robin",
        description="random (weighted), round-robin (smooth weighted), least-connections, ip-hash.",
    )
    timeouts: Timeouts = Field(DEFAULT_TIMEOUTS, description="Upstream timeouts in seconds.")


class ServerConfig(StrictModel):
    """How the router listens."""

    host: str = Field("127.0.0.1", description="Address to bind; loopback unless you mean it.")
    port: int = Field(8080, ge=0, le=65535, description="TCP port to listen on.")
    max_body_size: Size = Field(
        ByteSize(32 * 1024 * 1024),
        description="Largest request body accepted, e.g. 32MiB; larger bodies get 413.",
    )
    trusted_proxies: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="Proxies (addresses or CIDRs) whose X-Forwarded-For names the real client.",
    )


class Config(StrictModel):
    """A whole jairouter config file."""

    server: ServerConfig = Field(default_factory=ServerConfig, description="Listener settings.")
    defaults: Defaults = Field(default_factory=Defaults, description="Settings services inherit.")
    services: dict[ServiceType, ServiceConfig] = Field(
        default_factory=dict,
        description="Services by type: chat, completion, embedding, rerank, tts, stt, "
        "image-generation, image-edit.",
    )
    logging: LoggingConfig = Field(
        default_factory=LoggingConfig, description="The access log of proxied requests."
    )
    tracing: TracingConfig = Field(
        default_factory=TracingConfig, description="OpenTelemetry spans (optional extra)."
    )

    @model_validator(mode="after")
    def _adapters_support_their_service(self, info: ValidationInfo) -> Config:
        supports = (info.context or {}).get("adapters")
        if not supports:
            return self
        conflicts: list[Conflict] = []
        for service, svc in self.services.items():
            able = ", ".join(name for name, served in supports.items() if service in served)
            for index, inst in enumerate(svc.instances):
                allowed = supports.get(inst.adapter)
                if allowed is not None and service not in allowed:
                    loc = ("services", service.value, "instances", index, "adapter")
                    reason = (
                        f"adapter {inst.adapter!r} cannot serve {service.value}; "
                        f"adapters that can: {able or 'none'}"
                    )
                    conflicts.append((loc, inst.adapter, reason))
        raise_conflicts("Config", conflicts)
        return self

    @model_validator(mode="after")
    def _merged_levels_are_valid(self) -> Config:
        """Each level's block is valid alone; what a request will use is the merge, so check it
        here rather than when the first request arrives."""
        conflicts: list[Conflict] = []
        for service, svc in self.services.items():
            where: tuple[str | int, ...] = ("services", service.value)
            service_merges: dict[str, Callable[[ServiceType], object]] = {
                "retry": self.retry_of,
                "rate_limit": self.rate_limits_of,
            }
            for block, service_merge in service_merges.items():
                merged = functools.partial(service_merge, service)
                conflicts.extend(_merged_conflicts((*where, block), merged))
            instance_merges: dict[str, Callable[[ServiceType, InstanceConfig], object]] = {
                "circuit_breaker": self.breaker_of,
                "health_check": self.health_check_of,
                "rate_limit": self.rate_limits_of,
            }
            for index, inst in enumerate(svc.instances):
                for block, merge in instance_merges.items():
                    at = (*where, "instances", index, block)
                    conflicts.extend(_merged_conflicts(at, functools.partial(merge, service, inst)))
            conflicts.extend(_fallback_conflicts(service, svc))
            if not conflicts:  # the merges below are known to succeed
                conflicts.extend(_pool_outlier_conflicts(self, service, svc))
        raise_conflicts("Config", conflicts)
        return self

    def load_balance_of(self, service: ServiceType) -> str:
        svc = self.services.get(service)
        return (svc and svc.load_balance) or self.defaults.load_balance

    def timeouts_of(self, service: ServiceType, inst: InstanceConfig) -> Timeouts:
        """Effective timeouts: instance over service over defaults, field by field."""
        levels = [DEFAULT_TIMEOUTS, *self._levels("timeouts", service, inst)]
        merged = _merge(Timeouts, levels)
        assert merged is not None
        return merged

    def breaker_of(self, service: ServiceType, inst: InstanceConfig) -> CircuitBreakerConfig:
        found = _merge(CircuitBreakerConfig, self._levels("circuit_breaker", service, inst))
        return found or CircuitBreakerConfig()

    def health_check_of(self, service: ServiceType, inst: InstanceConfig) -> HealthCheckConfig:
        """Active probing is off unless some level sets a `health_check` block; passive outlier
        detection is on either way."""
        found = _merge(HealthCheckConfig, self._levels("health_check", service, inst))
        return found or HealthCheckConfig(enabled=False)

    def retry_of(self, service: ServiceType) -> RetryConfig:
        return _merge(RetryConfig, self._levels("retry", service, None)) or RetryConfig()

    def rate_limits_of(
        self, service: ServiceType, inst: InstanceConfig | None = None
    ) -> list[RateLimitConfig]:
        """Every limit that applies to a service's requests (inst None) or to those sent to
        `inst` (the service's limits refined by the instance's).

        Blocks are matched across levels by scope and unit: a narrower block refines the wider
        one field by field, or replaces it when it names another algorithm.
        """
        by_scope: dict[tuple[str, str], list[StrictModel]] = {}
        for level in self._levels("rate_limit", service, inst):
            for block in level:
                assert isinstance(block, RateLimitConfig)
                stack = by_scope.setdefault((block.scope, block.unit), [])
                if stack and getattr(stack[-1], "algorithm", None) != block.algorithm:
                    stack.clear()
                stack.append(block)
        merged = [_merge(RateLimitConfig, stack) for stack in by_scope.values()]
        return [limit for limit in merged if limit is not None]

    def _levels(self, name: str, service: ServiceType, inst: InstanceConfig | None) -> list[Any]:
        levels = [getattr(self.defaults, name)]
        svc = self.services.get(service)
        if svc is not None:
            levels.append(getattr(svc, name))
        if inst is not None:
            levels.append(getattr(inst, name))
        return [level for level in levels if level is not None]


def _merged_conflicts(where: tuple[str | int, ...], merge: Callable[[], object]) -> list[Conflict]:
    try:
        merge()
    except ValidationError as exc:
        return [
            (
                (*where, *error["loc"]),
                error.get("input"),
                f"once merged with wider levels: {error['msg']}",
            )
            for error in exc.errors()
        ]
    return []


def _pool_outlier_conflicts(
    config: Config, service: ServiceType, svc: ServiceConfig
) -> list[Conflict]:
    """Outlier detection is kept per pool (the instances of one model), as Envoy keeps it per
    cluster: its settings may not differ between instances of a model. The instances that set
    their own `health_check.outlier` unlike the rest are the ones reported."""
    pools: dict[str, list[tuple[int, InstanceConfig]]] = {}
    for index, inst in enumerate(svc.instances):
        pools.setdefault(inst.model, []).append((index, inst))
    conflicts: list[Conflict] = []
    for model, members in pools.items():
        settings = [(i, inst, config.health_check_of(service, inst).outlier) for i, inst in members]
        inheriting = [member for member in settings if not _sets_outlier(member[1])]
        first, _, shared = (inheriting or settings)[0]
        for index, _, outlier in settings:
            if outlier != shared:
                at = ("services", service.value, "instances", index, "health_check", "outlier")
                reason = (
                    f"differs from what instances[{first}] gets, but outlier detection is kept "
                    f"per model, as Envoy keeps it per cluster: every instance of {model!r} must "
                    f"get the same settings; set them on the {service.value} service's "
                    "health_check (or under defaults:) instead"
                )
                conflicts.append((at, outlier.model_dump(exclude_unset=True), reason))
    return conflicts


def _sets_outlier(inst: InstanceConfig) -> bool:
    return inst.health_check is not None and "outlier" in inst.health_check.model_fields_set


_STATIC_SERVICES = (ServiceType.CHAT, ServiceType.COMPLETION)
_CACHED_SERVICES = (ServiceType.EMBEDDING, ServiceType.RERANK)


def _fallback_conflicts(service: ServiceType, svc: ServiceConfig) -> list[Conflict]:
    fallback = svc.fallback
    if fallback is None:
        return []
    at: tuple[str | int, ...] = ("services", service.value, "fallback")
    conflicts: list[Conflict] = []
    models = {inst.model for inst in svc.instances}
    for model, chain in fallback.models.items():
        for name in (model, *chain):
            if name not in models:
                reason = f"{name!r} is not a model of {service.value}; models: {sorted(models)}"
                conflicts.append(((*at, "models", model), name, reason))
    if fallback.static_response is not None and service not in _STATIC_SERVICES:
        reason = "a static answer exists only for chat and completion"
        conflicts.append(((*at, "static_response"), fallback.static_response, reason))
    if fallback.cache is not None and service not in _CACHED_SERVICES:
        reason = "answers are cached only for embedding and rerank (their answers repeat)"
        conflicts.append(((*at, "cache"), None, reason))
    return conflicts


_M = TypeVar("_M", bound=StrictModel)


def _merge(model: type[_M], levels: list[Any]) -> _M | None:
    """The narrowest level wins, field by field: only the fields a level set override."""
    if not levels:
        return None
    if len(levels) == 1:
        return cast(_M, levels[0])
    fields: dict[str, Any] = {}
    for level in levels:
        _deep_update(fields, level.model_dump(exclude_unset=True))
    return model.model_validate(fields)


def _deep_update(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_update(into[key], value)
        else:
            into[key] = value
