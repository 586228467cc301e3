"""JAiRouter's `circuit-breaker:` blocks as jairouter `circuit_breaker:` blocks.

JAiRouter's breaker (`DefaultCircuitBreaker`) opens after `failure-threshold` failures in a row
(a success resets the count), stays open `timeout` milliseconds, then lets requests through
until `success-threshold` of them succeed; one failure reopens it for the same time again.
"""

from __future__ import annotations

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap

from jairouter.config.jairouter_import.source import Section
from jairouter.config.resilience import CircuitBreakerConfig

_MAX_OPEN = CircuitBreakerConfig.model_fields["max_open_duration"].default


def breaker_block(section: Section) -> CommentedMap | None:
    """The block for `section`; None when it sets nothing jairouter's defaults do not already."""
    block = CommentedMap()
    if section.boolean("enabled") is False:
        block["enabled"] = False
    failures = section.number("failure-threshold")
    if failures is not None:
        block["consecutive_failures"] = max(int(failures), 1)
        if failures < 1:
            section.report.note(
                "circuit_breaker: a failure-threshold below 1 opened JAiRouter's breaker on the "
                "first failure, so it is imported as consecutive_failures: 1."
            )
    timeout = section.number("timeout")
    if timeout is not None:
        seconds = timeout / 1000
        block["open_duration"] = int(seconds) if seconds.is_integer() else seconds
        if seconds > _MAX_OPEN:
            block["max_open_duration"] = block["open_duration"]
    successes = section.number("success-threshold")
    if successes is not None:
        block["success_threshold"] = successes
    section.finish()
    if not block:
        return None
    section.report.note(
        "circuit_breaker: JAiRouter opened only after failure-threshold failures in a row and "
        "stayed open `timeout` ms each time; jairouter also opens at a 50% failure rate and "
        "doubles the open time on each reopening (set failure_rate_threshold: 0 and "
        "backoff_multiplier: 1 to behave exactly like JAiRouter)."
    )
    try:
        CircuitBreakerConfig.model_validate(dict(block))
    except ValidationError as exc:
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        section.report.leave_out(section.path, section.position(), f"{message}; not imported")
        return None
    return block
