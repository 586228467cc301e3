"""The admin API's request and response bodies as pydantic models: they validate what callers
send and are the single source of the JSON schemas in `/admin/openapi.json`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from jairouter.config.limits import Algorithm, LimitScope, LimitUnit
from jairouter.config.models import LoadBalance
from jairouter.core.breaker import State as BreakerState
from jairouter.types import ServiceType

Weight = Field(None, ge=1, le=10_000, description="Relative share of traffic (1-10000).")
_NAMED: JsonDict = {"service": "chat", "model": "qwen2.5:7b", "url": "http://10.0.0.6:11434"}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstanceRef(_Body):
    """Names one configured instance: its service, model and URL (a trailing / is ignored)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_NAMED]})

    service: ServiceType = Field(description="The service: chat, embedding, rerank, ...")
    model: str = Field(min_length=1, description="The model name clients ask for.")
    url: str = Field(min_length=1, description="Base URL of the server, as in the config.")


class NewInstance(InstanceRef):
    """An instance to append to a service (the service is created when missing)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_NAMED, "adapter": "ollama", "weight": 2}]}
    )

    adapter: str = Field("openai", min_length=1, description="Wire protocol of the server.")
    weight: int | None = Weight
    upstream_model: str | None = Field(
        None, min_length=1, description="Model name sent upstream when it differs from `model`."
    )
    api_key: str | None = Field(
        None, description="Key for the server; prefer '${ENV_VAR}' over the key itself."
    )


class InstanceUpdate(InstanceRef):
    """Settings to change on the instance named by service, model and url; give at least one.
    Headers are merged into the instance's `headers:`."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_NAMED, "weight": 3, "headers": {"X-Team": "ml"}}]}
    )

    weight: int | None = Weight
    adapter: str | None = Field(None, min_length=1, description="Wire protocol of the server.")
    upstream_model: str | None = Field(
        None, min_length=1, description="Model name sent upstream when it differs from `model`."
    )
    headers: dict[str, str] | None = Field(
        None, description="HTTP headers sent upstream, merged into the instance's headers."
    )
    api_key: str | None = Field(
        None, description="Key for the server; prefer '${ENV_VAR}' over the key itself."
    )


class ServiceUpdate(_Body):
    """Settings to write on one service; give at least one. Each replaces that key's whole block
    in the file (or is added to the service); the config's own schema validates the result, so
    a wrong value is a 422 with its file:line, not a 400. See docs/configuration.md."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"service": "chat", "load_balance": "least-connections"},
                {
                    "service": "chat",
                    "rate_limit": {"algorithm": "token-bucket", "capacity": 20, "rate": 5},
                    "retry": {"attempts": 2},
                },
            ]
        }
    )

    service: ServiceType = Field(description="The service: chat, embedding, rerank, ...")
    load_balance: LoadBalance | None = Field(
        None, description="How requests spread over the service's instances."
    )
    rate_limit: dict[str, Any] | list[dict[str, Any]] | None = Field(
        None, description="Rate limit(s): one block or a list, one per scope."
    )
    circuit_breaker: dict[str, Any] | None = Field(
        None, description="When failures stop traffic to an instance, and for how long."
    )
    retry: dict[str, Any] | None = Field(
        None, description="Retries on another instance before any byte reached the client."
    )
    timeouts: dict[str, Any] | None = Field(
        None, description="Upstream timeouts in seconds: connect, first_byte, idle, total."
    )

    def settings(self) -> dict[str, Any]:
        """The keys given, in the order of the fields."""
        return self.model_dump(exclude={"service"}, exclude_none=True, mode="json")


class VersionInfo(BaseModel):
    """One kept version of the config file: the text as it was before `description`."""

    number: int
    time: str = Field(description="When it was replaced, ISO 8601 in UTC.")
    description: str = Field(description="The change that replaced it.")
    size: int = Field(description="Bytes.")


class VersionList(BaseModel):
    """The kept versions of the config file, oldest first."""

    path: str
    versions: list[VersionInfo]


class WriteResult(BaseModel):
    """What a config write did: persisted (a version kept), then applied live."""

    changed: bool = Field(description="False when the file already said so: nothing written.")
    description: str = Field(description="How the change is named in the config history.")
    version: VersionInfo | None = Field(description="The replaced text, kept as this version.")
    applied: bool = Field(description="Whether the running router applied the new file.")
    generation: int = Field(description="The config generation served now.")
    reload_error: str | None = Field(description="Why the new file was not applied, if not.")


class ReloadResult(BaseModel):
    """The outcome of `POST /admin/reload`."""

    reloaded: bool
    generation: int
    error: str | None
    restart_needed: list[str]
    """`server.*` keys changed in the file that only a restart applies (host, port)."""


class BreakerReset(BaseModel):
    """The instance whose circuit was reset, now closed."""

    service: ServiceType
    model: str
    url: str
    circuit: str


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorBody(BaseModel):
    """An OpenAI-style error; `problems` lists file:line problems of a rejected config."""

    error: ErrorDetail
    problems: list[dict[str, Any]] | None = None


class AnyObject(BaseModel):
    """A JSON object (its shape is documented in docs/operations.md)."""

    model_config = ConfigDict(extra="allow")


class _Open(BaseModel):
    """A response part that may gain fields: clients must ignore keys they do not know."""

    model_config = ConfigDict(extra="allow")


class LimitStatus(_Open):
    """One rate limit's live state. A keyed scope (`client`, `model`) holds one limiter per key:
    it shows how many keys hold state instead of one key's level."""

    scope: LimitScope
    unit: LimitUnit
    algorithm: Algorithm
    capacity: float = Field(description="What each key's limiter holds when full.")
    available: float | None = Field(
        description="Tokens, permits or window room left now; null for a keyed scope."
    )
    keys: int | None = Field(None, description="Keys holding state (keyed scopes only).")


class WorkerInstanceStatus(_Open):
    """One worker's own view of an instance (`serve --workers N`)."""

    pid: int = Field(description="The worker's process id.")
    inflight: int = Field(description="Requests this worker is serving on it now.")
    requests: int = Field(description="This worker's exchanges with it.")
    errors: int = Field(description="Those that ended in a 5xx or no answer.")
    circuit: str = Field(
        description="This worker's circuit breaker state for it.",
        json_schema_extra={"enum": [state.value for state in BreakerState]},
    )
    healthy: bool | None = Field(description="What this worker's probes say; null if unprobed.")
    ejected: bool = Field(description="Whether this worker's outlier detection keeps it out.")


class InstanceStatus(_Open):
    """One enabled instance's live state and counters since the router started. With
    `serve --workers N`, the whole router's: counts and in-flight summed over the running
    workers, latencies from their merged histograms, and the worst state any worker sees
    (open in one is open; unhealthy or ejected in one is so)."""

    model: str = Field(description="The model name clients ask for.")
    url: str = Field(description="Base URL of the server, any password masked.")
    adapter: str = Field(description="Wire protocol of the server.")
    weight: int = Field(description="Relative share of traffic.")
    inflight: int = Field(description="Requests being served by it now.")
    circuit: str = Field(
        description="The circuit breaker's state.",
        json_schema_extra={"enum": [state.value for state in BreakerState]},
    )
    circuit_retry_in: float = Field(description="Seconds until an open circuit lets a trial in.")
    healthy: bool | None = Field(description="What active probes say; null when not probed.")
    health_reason: str | None = Field(description="Why probes keep it out, if they do.")
    ejected: bool = Field(description="Whether outlier detection keeps it out now.")
    limits: list[LimitStatus] = Field(description="Its instance-scoped rate limits.")
    requests: int = Field(description="Exchanges with it.")
    errors: int = Field(description="Those that ended in a 5xx or no answer.")
    p50_ms: float | None = Field(description="Median exchange duration; null before any.")
    p95_ms: float | None = Field(description="95th percentile exchange duration.")
    per_worker: list[WorkerInstanceStatus] | None = Field(
        None, description="With `serve --workers N` only: each running worker's own view."
    )


class ConfigStatus(_Open):
    """The config being served and what the latest reload did."""

    generation: int = Field(description="Bumped by every applied config (not a file version).")
    applied_at: float = Field(description="When it was applied, Unix time in seconds.")
    path: str | None = Field(description="The config file; null when not started from one.")
    reload_error: str | None = Field(description="Why the latest reload was rejected, if it was.")
    restart_needed: list[str] = Field(
        description="`server.*` keys changed in the file that only a restart applies."
    )


class RouterStatus(_Open):
    """`GET /admin/status`: what `jairouter top` and scripts read. New fields may appear in
    any object here; clients ignore those they do not know."""

    version: str = Field(description="The router's version.")
    pid: int = Field(description="The process that answered: one worker's with --workers N.")
    workers: list[int] = Field(
        description="The processes this snapshot adds up: every running worker's pid with "
        "`serve --workers N`, else `[pid]`."
    )
    uptime: float = Field(description="Seconds since this router started.")
    config: ConfigStatus
    services: dict[str, list[InstanceStatus]] = Field(
        description="Each service's enabled instances, in config order."
    )
    service_limits: dict[str, list[LimitStatus]] = Field(
        description="Each service's limits checked before an instance is chosen; [] if none."
    )
