"""The `rate_limit:` block: which algorithm limits requests, how hard, and per what.

    rate_limit: {algorithm: token-bucket, capacity: 100, rate: 10, scope: client}

Each algorithm takes its own fields and no others, so a block never silently ignores a setting
the user thought was in force:

    token-bucket     capacity, rate               burst of `capacity`, then `rate` per second
    leaky-bucket     capacity, rate               bucket of `capacity` leaking `rate` per second
    sliding-window   capacity, window             `capacity` per any `window` seconds
    warm-up          rate, warm_up [cold_factor]  `rate` per second once warm (Guava's warm-up)
    adaptive         [min_limit, max_limit, initial_limit]  in-flight limit found from latency
    concurrency      max_concurrent               requests in flight

`unit: tokens` (a TPM-style limit) needs a rate-based algorithm (token-bucket, leaky-bucket,
sliding-window); `default_max_tokens` goes with it. `max_entries` and `idle_ttl` bound the
per-key state and so need a keyed `scope`. Algorithms' fields do not mix, so a narrower level's
`rate_limit` should replace a wider one's whole rather than merge with it field by field.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from jairouter.config.base import Conflict, StrictModel, raise_conflicts

Algorithm = Literal[
    "token-bucket", "leaky-bucket", "sliding-window", "warm-up", "adaptive", "concurrency"
]
RATE_LIMIT_ALGORITHMS: tuple[str, ...] = (
    "token-bucket",
    "leaky-bucket",
    "sliding-window",
    "warm-up",
    "adaptive",
    "concurrency",
)
LimitUnit = Literal["requests", "tokens"]
LimitScope = Literal["global", "service", "model", "instance", "client"]

DEFAULT_COLD_FACTOR = 3.0
DEFAULT_MIN_LIMIT = 1
DEFAULT_MAX_LIMIT = 200
DEFAULT_INITIAL_LIMIT = 20

_NEEDS: dict[str, tuple[str, ...]] = {
    "token-bucket": ("capacity", "rate"),
    "leaky-bucket": ("capacity", "rate"),
    "sliding-window": ("capacity", "window"),
    "warm-up": ("rate", "warm_up"),
    "adaptive": (),
    "concurrency": ("max_concurrent",),
}
_MAY_TAKE: dict[str, tuple[str, ...]] = {
    "warm-up": ("cold_factor",),
    "adaptive": ("min_limit", "max_limit", "initial_limit"),
}
_ALGORITHM_FIELDS = (
    "capacity",
    "rate",
    "window",
    "warm_up",
    "cold_factor",
    "min_limit",
    "max_limit",
    "initial_limit",
    "max_concurrent",
)
_TOKEN_ALGORITHMS = ("token-bucket", "leaky-bucket", "sliding-window")

Positive = Annotated[float, Field(gt=0)]
Count = Annotated[int, Field(ge=1)]


class RateLimitConfig(StrictModel):
    """One rate limit: an algorithm with its parameters, what it counts, and per what key."""

    algorithm: Algorithm = Field(
        description="token-bucket, leaky-bucket, sliding-window, warm-up, adaptive or concurrency."
    )
    capacity: Count | None = Field(
        None,
        description="token-bucket and leaky-bucket: the bucket's size, the largest burst; "
        "sliding-window: units allowed per window.",
    )
    rate: Positive | None = Field(
        None,
        description="token-bucket: refill per second; leaky-bucket: leak per second; "
        "warm-up: the stable rate per second once warm.",
    )
    window: Positive | None = Field(
        None, description="sliding-window: the window's length in seconds, e.g. 60."
    )
    warm_up: Positive | None = Field(
        None, description="warm-up: seconds of steady use to ramp from cold to the full rate."
    )
    cold_factor: Annotated[float, Field(ge=1)] | None = Field(
        None,
        description="warm-up: how many times slower than the stable rate a cold limiter "
        f"starts (default {DEFAULT_COLD_FACTOR:g}).",
    )
    min_limit: Count | None = Field(
        None,
        description=f"adaptive: the in-flight limit never drops below this "
        f"(default {DEFAULT_MIN_LIMIT}).",
    )
    max_limit: Count | None = Field(
        None,
        description=f"adaptive: the in-flight limit never grows past this "
        f"(default {DEFAULT_MAX_LIMIT}).",
    )
    initial_limit: Count | None = Field(
        None,
        description=f"adaptive: the in-flight limit to start from (default "
        f"{DEFAULT_INITIAL_LIMIT}, kept within min_limit..max_limit).",
    )
    max_concurrent: Count | None = Field(
        None, description="concurrency: the most requests in flight at once."
    )
    unit: LimitUnit = Field(
        "requests",
        description="What is counted: requests, or tokens (prompt + completion, a TPM-style "
        "limit; reserved from an estimate and settled to the reported usage).",
    )
    scope: LimitScope = Field(
        "global",
        description="Per what the limit is kept: global (one for all), service, model, "
        "instance or client (the client's address).",
    )
    max_entries: Count = Field(
        10_000,
        description="Keyed scopes: most keys (e.g. clients) tracked at once; the least "
        "recently seen is forgotten first.",
    )
    idle_ttl: Positive = Field(
        600.0,
        description="Keyed scopes: seconds after which an unused key is forgotten; make it "
        "at least the time the limit takes to refill.",
    )
    default_max_tokens: Count = Field(
        1024,
        description="unit tokens: completion tokens reserved for a request that sets no "
        "max_tokens; the real usage is settled when the answer ends.",
    )

    @model_validator(mode="after")
    def _fits_algorithm(self) -> RateLimitConfig:
        algorithm, given = self.algorithm, self.model_fields_set
        takes = _NEEDS[algorithm] + _MAY_TAKE.get(algorithm, ())
        conflicts: list[Conflict] = []
        for name in _NEEDS[algorithm]:
            if getattr(self, name) is None:
                what = type(self).model_fields[name].description
                conflicts.append(((name,), None, f"{algorithm} needs `{name}` ({what})"))
        for name in _ALGORITHM_FIELDS:
            if name in given and name not in takes:
                fields = ", ".join(takes) or "no parameters beyond unit and scope"
                reason = f"`{name}` does not apply to {algorithm}, which takes {fields}"
                conflicts.append(((name,), getattr(self, name), reason))
        if self.unit == "tokens" and algorithm not in _TOKEN_ALGORITHMS:
            reason = (
                f"{algorithm} counts requests; unit tokens needs {', '.join(_TOKEN_ALGORITHMS)}"
            )
            conflicts.append((("unit",), self.unit, reason))
        if "default_max_tokens" in given and self.unit != "tokens":
            reason = "`default_max_tokens` applies only with unit: tokens"
            conflicts.append((("default_max_tokens",), self.default_max_tokens, reason))
        if self.scope == "global":
            for name in ("max_entries", "idle_ttl"):
                if name in given:
                    reason = (
                        f"`{name}` bounds per-key state; scope global keeps one, so it "
                        "applies only with scope service, model, instance or client"
                    )
                    conflicts.append(((name,), getattr(self, name), reason))
        if algorithm == "adaptive":
            conflicts.extend(self._adaptive_conflicts())
        raise_conflicts("RateLimitConfig", conflicts)
        return self

    def _adaptive_conflicts(self) -> list[Conflict]:
        low, initial, high = self.adaptive_limits()
        if low > high:
            return [(("min_limit",), low, f"min_limit {low} is above max_limit {high}")]
        if not low <= initial <= high:
            reason = f"initial_limit {initial} is outside min_limit..max_limit ({low}..{high})"
            return [(("initial_limit",), initial, reason)]
        return []

    def adaptive_limits(self) -> tuple[int, int, int]:
        """The adaptive algorithm's (min_limit, initial_limit, max_limit), defaults filled in."""
        low = DEFAULT_MIN_LIMIT if self.min_limit is None else self.min_limit
        high = DEFAULT_MAX_LIMIT if self.max_limit is None else self.max_limit
        initial = self.initial_limit
        if initial is None:
            initial = min(max(DEFAULT_INITIAL_LIMIT, low), high)
        return low, initial, high

    @property
    def effective_cold_factor(self) -> float:
        """The warm-up cold factor, default filled in."""
        return DEFAULT_COLD_FACTOR if self.cold_factor is None else self.cold_factor
