"""The config file's schema. Unknown keys are errors; every field is described.

Layered settings (`load_balance`, `timeouts`, and later `rate_limit`, `circuit_breaker`, …) may be
set under `defaults:`, a service, or an instance; the narrowest level wins, field by field.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    ByteSize,
    Field,
    IPvAnyNetwork,
    ValidationInfo,
    field_validator,
    model_validator,
)

from jairouter.config.base import Conflict, StrictModel, raise_conflicts
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
    total: Annotated[float, Field(gt=0)] | None = Field(
        None, description="Seconds for the whole upstream exchange, stream included."
    )


DEFAULT_TIMEOUTS = Timeouts(connect=10.0, first_byte=300.0, total=600.0)


class InstanceConfig(StrictModel):
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


class ServiceConfig(StrictModel):
    """Settings and instances of one service type."""

    load_balance: LoadBalance | None = Field(
        None, description="How requests spread over instances; inherits `defaults.load_balance`."
    )
    timeouts: Timeouts | None = Field(None, description="Timeout overrides for this service.")
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


class Defaults(StrictModel):
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
    max_body_size: ByteSize = Field(
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

    def load_balance_of(self, service: ServiceType) -> str:
        svc = self.services.get(service)
        return (svc and svc.load_balance) or self.defaults.load_balance

    def timeouts_of(self, service: ServiceType, inst: InstanceConfig) -> Timeouts:
        """Effective timeouts: instance over service over defaults, field by field."""
        layers = [self.defaults.timeouts]
        svc = self.services.get(service)
        if svc and svc.timeouts:
            layers.append(svc.timeouts)
        if inst.timeouts:
            layers.append(inst.timeouts)
        merged: dict[str, float | None] = {}
        for layer in layers:
            merged.update(layer.model_dump(exclude_none=True))
        return Timeouts(**merged)
