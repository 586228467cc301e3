"""JAiRouter's `rate-limit:` blocks as jairouter `rate_limit:` blocks (requests per second).

What JAiRouter does with a block (its `RateLimitManager` and limiter classes):

- a block counts only with `enabled: true` (the property defaults to false);
- token-bucket and leaky-bucket take `capacity` and `rate` (per second), as here;
- its sliding window lets `rate` requests through per 1-second window and never reads
  `capacity`;
- warm-up is a token bucket whose refill ramps from 0 to `rate` over 600 s after start
  (`warmUpPeriod` cannot be set from the YAML);
- `scope` keys the limiter: service, model, instance, client-ip (anything else: one for all);
- `client-ip-enable` adds a limiter per client address with the same numbers, for each service,
  read from the service's block or else from the global one (never from an instance's).

An instance's block keeps one limiter per instance whatever its scope says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap

from jairouter.config.jairouter_import.report import Report
from jairouter.config.jairouter_import.source import Section
from jairouter.config.limits import RateLimitConfig

Level = Literal["defaults", "service", "instance"]

JAIROUTER_WARM_UP = 600  # seconds: RateLimitConfig.warmUpPeriod, fixed for YAML-made limiters
_DEFAULT_CAPACITY = 100  # RateLimitManager.convert's defaults for a block without them
_DEFAULT_RATE = 10
_SCOPES = {"service": "service", "model": "model", "instance": "instance", "client-ip": "client"}
_SCOPES["client"] = "client"
_ALGORITHMS = ("token-bucket", "leaky-bucket", "sliding-window", "warm-up")


@dataclass(frozen=True)
class Limit:
    """One JAiRouter block as read, before it is placed at a level."""

    enabled: bool
    algorithm: str
    capacity: int | float
    rate: int | float
    scope: str  # JAiRouter's name, kebab case
    client_ip: bool
    section: Section


def read_limit(section: Section, level: Level) -> Limit | None:
    """The block in `section`; None (reported) when its algorithm is unknown."""
    enabled = bool(section.boolean("enabled"))
    client_ip = bool(section.boolean("client-ip-enable"))
    if level == "instance" and client_ip:
        section.leave_out(
            "client-ip-enable",
            "JAiRouter reads client-ip-enable only globally and per service; not imported",
        )
    algorithm = section.word("algorithm") or "token-bucket"
    capacity = section.number("capacity")
    rate = section.number("rate")
    scope = section.word("scope") or "service"
    section.finish()
    if algorithm not in _ALGORITHMS:
        reason = f"unknown algorithm {algorithm!r} (JAiRouter has {', '.join(_ALGORITHMS)})"
        section.report.leave_out(section.key("algorithm"), section.position("algorithm"), reason)
        return None
    if not enabled:
        kept = "only its per-client limit (client-ip-enable) is imported" if client_ip else ""
        section.report.leave_out(
            section.path,
            section.position(),
            f"not enabled (JAiRouter's default); {kept or 'not imported'}",
        )
    if algorithm == "sliding-window" and capacity is not None:
        section.report.leave_out(
            section.key("capacity"),
            section.position("capacity"),
            "JAiRouter's sliding window never reads capacity; `rate` per second is imported",
        )
    if algorithm == "warm-up" and capacity is not None:
        section.report.leave_out(
            section.key("capacity"),
            section.position("capacity"),
            "jairouter's warm-up limiter has no burst bucket; `rate` is imported",
        )
    return Limit(
        enabled,
        algorithm,
        _DEFAULT_CAPACITY if capacity is None else capacity,
        _DEFAULT_RATE if rate is None else rate,
        scope,
        client_ip,
        section,
    )


def limit_blocks(
    own: Limit | None, client_from: Limit | None, level: Level, report: Report
) -> list[CommentedMap]:
    """The blocks for one level: `own` if enabled, plus a per-client block built from
    `client_from` (the limit whose `client-ip-enable` applies at this level)."""
    blocks: list[CommentedMap] = []
    if own is not None and own.enabled:
        block = _block(own, _scope(own, level), report)
        if block is not None:
            blocks.append(block)
    if client_from is not None and (block := _block(client_from, "client", report)):
        clash = next((other for other in blocks if other["scope"] == "client"), None)
        if clash is None:
            blocks.append(block)
        elif own is not None and dict(clash) != dict(block):
            # One block per scope: a second per-client limit would merge into the first.
            reason = (
                "jairouter keeps one per-client limit per service: this one is imported, the "
                f"one client-ip-enable added ({client_from.section.path}) is not"
            )
            report.leave_out(own.section.key("scope"), own.section.position("scope"), reason)
    return blocks


def _scope(limit: Limit, level: Level) -> str:
    if level == "instance":
        # One limiter per instance in JAiRouter, keyed further only by client when so scoped.
        return "client" if _SCOPES.get(limit.scope) == "client" else "instance"
    scope = _SCOPES.get(limit.scope)
    if scope is None:
        limit.section.report.leave_out(
            limit.section.key("scope"),
            limit.section.position("scope"),
            f"scope {limit.scope!r} is none of service, model, instance, client-ip: JAiRouter "
            "kept one limiter for all, imported as scope global",
        )
        return "global"
    return scope


def _block(limit: Limit, scope: str, report: Report) -> CommentedMap | None:
    block = CommentedMap()
    block["algorithm"] = limit.algorithm
    if limit.algorithm == "sliding-window":
        block["capacity"] = limit.rate
        block["window"] = 1
        report.note(
            "rate_limit sliding-window: JAiRouter allowed `rate` requests per 1-second window "
            "(its capacity unused), hence `capacity: <rate>` and `window: 1`."
        )
    elif limit.algorithm == "warm-up":
        block["rate"] = limit.rate
        block["warm_up"] = JAIROUTER_WARM_UP
        report.note(
            f"rate_limit warm-up: JAiRouter ramped from 0 to `rate` over {JAIROUTER_WARM_UP} s "
            "after start; jairouter starts at rate/cold_factor and cools again when idle."
        )
    else:
        block["capacity"] = limit.capacity
        block["rate"] = limit.rate
    block["scope"] = scope
    try:
        RateLimitConfig.model_validate(dict(block))
    except ValidationError as exc:
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        section = limit.section
        section.report.leave_out(section.path, section.position(), f"{message}; not imported")
        return None
    return block
