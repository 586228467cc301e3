"""JAiRouter's `fallback:` blocks: `strategy: cache` becomes `fallback.cache` where jairouter
caches answers (embedding and rerank); `strategy: default` (a canned error answer) has no
direct equivalent."""

from __future__ import annotations

from dataclasses import dataclass

from ruamel.yaml.comments import CommentedMap

from jairouter.config.jairouter_import.source import Section
from jairouter.types import ServiceType

CACHED = (ServiceType.EMBEDDING, ServiceType.RERANK)
_DEFAULT_SIZE = 100  # ModelRouterProperties.FallbackConfig's defaults
_DEFAULT_TTL_MS = 300_000


@dataclass(frozen=True)
class CachePlan:
    """A cache fallback as read: how many answers, kept how long (seconds)."""

    max_entries: int
    ttl: float
    section: Section


def read_fallback(section: Section, service: ServiceType | None) -> CachePlan | None:
    """The cache `section` asks for, if any; everything else is reported. `service` is None for
    the global block, which applies to every service without its own."""
    if section.boolean("enabled") is not True:
        section.skip("not enabled (JAiRouter's default); not imported")
        return None
    strategy = section.word("strategy") or "default"
    size = section.number("cache-size")
    ttl = section.number("cache-ttl")
    if strategy != "cache":
        for name in ("cache-size", "cache-ttl"):
            section.leave_out(name, "used only by strategy: cache; not imported")
    section.finish()
    if strategy == "default":
        reason = (
            "JAiRouter's default fallback answers with a fixed error message; jairouter has no "
            "direct equivalent (chat can answer `fallback.static_response`)"
        )
        section.report.leave_out(section.key("strategy"), section.position("strategy"), reason)
        return None
    if strategy != "cache":
        reason = f"unknown strategy {strategy!r} (JAiRouter has default and cache); not imported"
        section.report.leave_out(section.key("strategy"), section.position("strategy"), reason)
        return None
    if service is not None and service not in CACHED:
        reason = "jairouter caches answers only for embedding and rerank; not imported"
        section.report.leave_out(section.key("strategy"), section.position("strategy"), reason)
        return None
    if size is not None and size < 1:
        section.leave_out("cache-size", f"must be at least 1; {_DEFAULT_SIZE} is imported")
        size = None
    if ttl is not None and ttl <= 0:
        section.leave_out("cache-ttl", f"must be positive; {_DEFAULT_TTL_MS} ms is imported")
        ttl = None
    entries = int(size if size is not None else _DEFAULT_SIZE)
    seconds = (ttl if ttl is not None else _DEFAULT_TTL_MS) / 1000
    return CachePlan(entries, seconds, section)


def fallback_block(plan: CachePlan, service: ServiceType) -> CommentedMap | None:
    """`fallback:` for `service` from `plan`; None where jairouter keeps no cache."""
    if service not in CACHED:
        return None
    cache = CommentedMap()
    cache["max_entries"] = plan.max_entries
    cache["ttl"] = int(plan.ttl) if float(plan.ttl).is_integer() else plan.ttl
    block = CommentedMap()
    block["cache"] = cache
    return block
