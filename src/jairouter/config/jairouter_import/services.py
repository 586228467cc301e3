"""JAiRouter's `model:` section as jairouter's `defaults:` and `services:`.

Global settings become `defaults:` (load balancing, rate limit, circuit breaker); the global
adapter and cache fallback, which jairouter sets per instance and per service, are copied down;
so is the global `client-ip-enable`, which JAiRouter applied per service.
"""

from __future__ import annotations

from dataclasses import dataclass

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from jairouter.config.jairouter_import.breaker import breaker_block
from jairouter.config.jairouter_import.fallback import CachePlan, fallback_block, read_fallback
from jairouter.config.jairouter_import.instances import (
    ADAPTERS,
    Capabilities,
    instance_block,
    read_adapter,
)
from jairouter.config.jairouter_import.limits import Limit, limit_blocks, read_limit
from jairouter.config.jairouter_import.source import Section
from jairouter.types import ServiceType

SERVICES = {
    "chat": ServiceType.CHAT,
    "embedding": ServiceType.EMBEDDING,
    "rerank": ServiceType.RERANK,
    "tts": ServiceType.TTS,
    "stt": ServiceType.STT,
    "imggen": ServiceType.IMAGE_GENERATION,
    "imgedit": ServiceType.IMAGE_EDIT,
}
"""JAiRouter's service keys (dashes and case ignored, as its parser does) -> jairouter's."""
_BALANCERS = ("random", "round-robin", "least-connections", "ip-hash")
_JAIROUTER_BALANCER = "random"  # LoadBalanceConfig's default type


@dataclass(frozen=True)
class Globals:
    """What services inherit from the `model:` level."""

    adapter: str
    limit: Limit | None
    limit_scopes: frozenset[str]
    """Scopes of the `defaults:` rate limits, which a service's block of the same scope refines."""
    fallback: CachePlan | None
    supports: Capabilities | None


def convert_model(model: Section, supports: Capabilities | None) -> CommentedMap:
    """`defaults:` and `services:` for jairouter, from JAiRouter's `model:` section."""
    out = CommentedMap()
    defaults = out["defaults"] = CommentedMap()
    balancer = _balancer(model.section("load-balance"))
    services = model.section("services")
    if balancer is None and services is not None and services.has("load-balance"):
        balancer = _balancer(services.section("load-balance"))  # JAiRouter 0.x kept it there
    defaults["load_balance"] = balancer or _JAIROUTER_BALANCER
    if balancer is None:
        defaults.yaml_add_eol_comment(
            "JAiRouter's default (jairouter's is round-robin)", "load_balance"
        )
    limit_section = model.section("rate-limit")
    limit = read_limit(limit_section, "defaults") if limit_section is not None else None
    wide = limit_blocks(limit, None, "defaults", model.report)
    _set_limits(defaults, wide)
    breaker = model.section("circuit-breaker")
    if breaker is not None and (block := breaker_block(breaker)) is not None:
        defaults["circuit_breaker"] = block
    fallback = model.section("fallback")
    plan = read_fallback(fallback, None) if fallback is not None else None
    if plan is not None:
        model.report.note(
            "fallback: JAiRouter's global cache fallback is set on the embedding and rerank "
            "services, the only ones whose answers jairouter caches."
        )
    adapter = read_adapter(model, supports or ADAPTERS) or "openai"
    scopes = frozenset(str(block["scope"]) for block in wide)
    scope = Globals(adapter, limit, scopes, plan, supports)
    out["services"] = _services(services, scope) if services is not None else CommentedMap()
    model.finish()
    return out


def _services(section: Section, scope: Globals) -> CommentedMap:
    out = CommentedMap()
    for name in section.names():
        if name == "load-balance":  # JAiRouter 0.x's global balancer, read by convert_model
            if not section.was_read(name):
                section.leave_out(name, "model.load-balance is imported instead; not imported")
            continue
        service = SERVICES.get(name.replace("-", ""))
        if service is None:
            known = "chat, embedding, rerank, tts, stt, imgGen, imgEdit"
            section.leave_out(name, f"not a JAiRouter service type ({known}); not imported")
        elif service.value in out:
            section.leave_out(name, f"repeats the {service.value} service; not imported")
        elif (settings := section.section(name)) is not None:
            out[service.value] = _service(settings, service, scope)
    return out


def _service(section: Section, service: ServiceType, scope: Globals) -> CommentedMap:
    out = CommentedMap()
    balancer = _balancer(section.section("load-balance"))
    if balancer is not None:
        out["load_balance"] = balancer
    adapter = read_adapter(section, scope.supports or ADAPTERS) or scope.adapter
    limits = section.section("rate-limit")
    own = read_limit(limits, "service") if limits is not None else None
    global_client = scope.limit if scope.limit is not None and scope.limit.client_ip else None
    client = own if own is not None and own.client_ip else global_client
    blocks = limit_blocks(own, client, "service", section.report)
    if any(block["scope"] in scope.limit_scopes for block in blocks):
        section.report.note(
            "rate_limit: JAiRouter checked its global, service and instance limits one after "
            "another; here a service's block refines (or, naming another algorithm, replaces) "
            "the `defaults:` block of the same scope."
        )
    _set_limits(out, blocks)
    breaker = section.section("circuit-breaker")
    if breaker is not None and (block := breaker_block(breaker)) is not None:
        out["circuit_breaker"] = block
    fallback = section.section("fallback")
    plan = read_fallback(fallback, service) if fallback is not None else scope.fallback
    if plan is not None and (cache := fallback_block(plan, service)) is not None:
        out["fallback"] = cache
    out["instances"] = _instances(section, service, adapter, scope.supports)
    section.finish()
    return out


def _instances(
    section: Section, service: ServiceType, adapter: str, supports: Capabilities | None
) -> CommentedSeq:
    """The service's instances; one listed twice (same model and URL) is merged into the first,
    weights added, as two equal entries doubled its share in JAiRouter."""
    out = CommentedSeq()
    first: dict[tuple[str, str], tuple[CommentedMap, str]] = {}
    for item in section.items("instances"):
        block = instance_block(item, service, adapter, supports)
        if block is None:
            continue
        key = (str(block["model"]), str(block["url"]).rstrip("/"))
        if key in first:
            kept, where = first[key]
            kept["weight"] = min(kept.get("weight", 1) + block.get("weight", 1), 10_000)
            reason = f"same model and URL as {where}; merged into it, weights added"
            item.report.leave_out(item.path, item.position(), reason)
            continue
        first[key] = (block, item.path)
        out.append(block)
    return out


def _balancer(section: Section | None) -> str | None:
    if section is None:
        return None
    kind = section.word("type") or _JAIROUTER_BALANCER
    section.finish()
    if kind in _BALANCERS:
        return kind
    reason = f"unknown strategy {kind!r} (jairouter has {', '.join(_BALANCERS)}); not imported"
    section.report.leave_out(section.key("type"), section.position("type"), reason)
    return None


def _set_limits(level: CommentedMap, blocks: list[CommentedMap]) -> None:
    if blocks:
        level["rate_limit"] = blocks[0] if len(blocks) == 1 else CommentedSeq(blocks)
