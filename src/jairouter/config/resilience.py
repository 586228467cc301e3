"""The `circuit_breaker:` and `health_check:` blocks: when an instance stops getting traffic.

Each block may be set under `defaults:`, a service or an instance. Defaults live on the fields
(not in a separate constant as for `timeouts`), so a layered lookup merges the fields a level
actually sets (`model_dump(exclude_unset=True)`) over the wider level's. Triggers are turned off
with 0 rather than null, so null never has to mean both "off" and "inherit".
"""

from __future__ import annotations

from typing import Literal

from pydantic import ByteSize, Field, model_validator

from jairouter.config.base import Conflict, Size, StrictModel, raise_conflicts

InitialHealth = Literal["healthy", "unknown", "unhealthy"]


class CircuitBreakerConfig(StrictModel):
    """Stop sending requests to an instance that keeps failing, and try it again later.

    The window is time-based: the last `window` seconds of calls, so a quiet instance is not
    judged by failures from an hour ago (as a count-based window would).
    """

    enabled: bool = Field(True, description="Whether failures open the circuit at all.")
    consecutive_failures: int = Field(
        5,
        ge=0,
        description="Open after this many failures in a row; 0 turns this trigger off.",
    )
    failure_rate_threshold: float = Field(
        50.0,
        ge=0,
        le=100,
        description="Open when at least this percentage of the calls in the window failed "
        "(checked once `minimum_calls` are in it); 0 turns this trigger off.",
    )
    window: float = Field(
        60.0, gt=0, description="Seconds of recent calls the failure rate is computed over."
    )
    minimum_calls: int = Field(
        20,
        ge=1,
        description="Calls the window must hold before its failure rate can open the circuit.",
    )
    open_duration: float = Field(
        30.0, gt=0, description="Seconds the circuit stays open before trial requests go through."
    )
    backoff_multiplier: float = Field(
        2.0,
        ge=1,
        description="Each reopening without having closed in between stays open this many "
        "times longer than the last; 1 keeps `open_duration` every time.",
    )
    max_open_duration: float = Field(
        300.0, gt=0, description="Longest the circuit stays open, however often it reopened."
    )
    half_open_trials: int = Field(
        1,
        ge=1,
        description="Trial requests allowed in flight at once while half-open; more are refused.",
    )
    success_threshold: int = Field(
        2,
        ge=1,
        description="Successful trial requests that close the circuit; a failed trial reopens it.",
    )

    @model_validator(mode="after")
    def _coherent(self) -> CircuitBreakerConfig:
        conflicts: list[Conflict] = []
        if self.max_open_duration < self.open_duration:
            reason = f"must be at least open_duration ({self.open_duration:g})"
            conflicts.append((("max_open_duration",), self.max_open_duration, reason))
        if self.enabled and not self.consecutive_failures and not self.failure_rate_threshold:
            reason = (
                "with failure_rate_threshold also 0 nothing could open the circuit; "
                "set one of them, or enabled: false"
            )
            conflicts.append((("consecutive_failures",), self.consecutive_failures, reason))
        raise_conflicts("CircuitBreakerConfig", conflicts)
        return self


class OutlierConfig(StrictModel):
    """Passive checks: eject an instance whose live traffic keeps failing, as Envoy does.

    An ejection lasts `base_ejection_time` times the number of times the instance was ejected (up to
    `max_ejection_time`); that count drops by one for every `base_ejection_time` the instance
    then serves without being ejected.
    """

    enabled: bool = Field(True, description="Whether live-traffic failures eject instances.")
    consecutive_failures: int = Field(
        5,
        ge=1,
        description="Failures in a row (5xx, connect errors, timeouts, broken replies; "
        "not 429) that eject an instance.",
    )
    base_ejection_time: float = Field(
        30.0, gt=0, description="Seconds of the first ejection; later ones are multiples of it."
    )
    max_ejection_time: float = Field(
        300.0, gt=0, description="Longest a single ejection lasts, in seconds."
    )
    max_ejection_percent: int = Field(
        50,
        ge=1,
        le=100,
        description="Most of a pool's instances ejected at once, in percent. Below 100 at least "
        "one instance always stays in, and one may always be out in a pool of two or more.",
    )

    @model_validator(mode="after")
    def _coherent(self) -> OutlierConfig:
        if self.max_ejection_time < self.base_ejection_time:
            reason = f"must be at least base_ejection_time ({self.base_ejection_time:g})"
            raise_conflicts(
                "OutlierConfig", [(("max_ejection_time",), self.max_ejection_time, reason)]
            )
        return self


class HealthCheckConfig(StrictModel):
    """Active probes: a cheap GET to every instance on an interval, with rise/fall hysteresis."""

    enabled: bool = Field(True, description="Whether the router probes instances on its own.")
    path: str | None = Field(
        None,
        pattern=r"^/",
        description="Path probed below the server root (the URL without /v1 or /api); by "
        "default the adapter's model list: /v1/models, or /api/tags for Ollama.",
    )
    interval: float = Field(10.0, gt=0, description="Seconds between probes of one instance.")
    timeout: float = Field(
        5.0, gt=0, description="Seconds a probe may take, connect included, before it fails."
    )
    jitter: float = Field(
        1.0,
        ge=0,
        description="Up to this many seconds added at random to each interval (and before the "
        "first probe), so instances are not all probed at the same moment.",
    )
    rise: int = Field(
        2, ge=1, description="Probes in a row that must succeed to mark an instance healthy."
    )
    fall: int = Field(
        3, ge=1, description="Probes in a row that must fail to mark an instance unhealthy."
    )
    initial_state: InitialHealth = Field(
        "healthy",
        description="State before the first probe: healthy (serves at once; `fall` failures take "
        "it out), unknown (serves at once; the first probe decides either way) or unhealthy "
        "(no traffic until `rise` probes succeed).",
    )
    outlier: OutlierConfig = Field(
        default_factory=OutlierConfig,
        description="Passive outlier detection from live traffic.",
    )


RetryOn = Literal["connect", "timeout", "server-error", "throttled"]
_RETRY_ON: tuple[RetryOn, ...] = ("connect", "timeout", "server-error", "throttled")


class RetryConfig(StrictModel):
    """Retry a failed request on a different instance, before any byte reached the client.

    A stream that has begun is never retried: it ends with an SSE error event instead.
    """

    attempts: int = Field(
        2, ge=1, le=10, description="Tries in all, the first included; 1 turns retries off."
    )
    on: list[RetryOn] = Field(
        default_factory=lambda: list(_RETRY_ON),
        description="Failures worth another instance: connect (refused, reset, DNS), timeout "
        "(before the first byte), server-error (5xx), throttled (429).",
    )
    budget_percent: float = Field(
        20.0,
        ge=0,
        le=100,
        description="Retries may add at most this share of extra load over recent requests, "
        "so retries cannot multiply an overload.",
    )
    min_per_second: float = Field(
        3.0,
        ge=0,
        description="Retries always allowed per second whatever the budget, so a quiet router "
        "still retries.",
    )
    backoff_base: float = Field(
        0.05, ge=0, description="Seconds before the first retry; doubles for each further one."
    )
    backoff_max: float = Field(
        2.0, ge=0, description="Longest wait between tries, in seconds (jittered below it)."
    )
    honor_retry_after: bool = Field(
        True,
        description="Wait as long as an upstream's Retry-After asks (up to backoff_max) before "
        "retrying a 429/503; longer waits are not retried.",
    )


class FallbackCacheConfig(StrictModel):
    """Answers kept from successful requests, served when every instance fails."""

    enabled: bool = Field(True, description="Whether successful answers are kept at all.")
    max_entries: int = Field(1000, ge=1, description="Answers kept at most (least recent go).")
    ttl: float = Field(3600.0, gt=0, description="Seconds an answer may be served after it.")
    max_body_size: Size = Field(
        ByteSize(1024 * 1024),
        description="Largest answer kept, e.g. 1MiB or 512KB (or a byte count); larger ones "
        "are skipped.",
    )


class FallbackConfig(StrictModel):
    """What a service does when every instance of the requested model failed."""

    models: dict[str, list[str]] = Field(
        default_factory=dict,
        description="For a requested model, other models of the same service to try in order, "
        "e.g. {gpt-4o: [qwen2.5:72b]}.",
    )
    static_response: str | None = Field(
        None,
        description="chat/completion only: text answered (as the model `fallback`) when the "
        "whole chain failed.",
    )
    cache: FallbackCacheConfig | None = Field(
        None,
        description="embedding/rerank only: answer a repeated request from the last successful "
        "answer when the whole chain failed.",
    )
