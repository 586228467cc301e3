"""One JAiRouter instance (`name`, `base-url`, `path`, `adapter`, `headers`, …) as a jairouter
instance (`model`, `url`, `adapter`, `api_key`, …)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from jairouter.config.jairouter_import.breaker import breaker_block
from jairouter.config.jairouter_import.limits import limit_blocks, read_limit
from jairouter.config.jairouter_import.source import Section
from jairouter.config.jairouter_import.urls import STANDARD_PATHS, instance_url
from jairouter.types import ServiceType

Capabilities = Mapping[str, frozenset[ServiceType]]

ADAPTERS = ("openai", "vllm", "gpustack", "xinference", "localai", "ollama")
"""jairouter's adapters, for when the caller passes no capability table."""
_ALIASES = {"normal": "openai"}  # JAiRouter's name for its plain OpenAI-protocol adapter
_BEARER = re.compile(r"\s*bearer\s+(?P<key>.*?)\s*", re.IGNORECASE)
_MAX_WEIGHT = 10_000


def read_adapter(section: Section, known: Mapping[str, object] | tuple[str, ...]) -> str | None:
    """The adapter `section` names, as jairouter names it; unknown ones become openai
    (reported). None when the section names none (the wider level's applies)."""
    value = section.text("adapter")
    if value is None or not value.strip():
        return None
    name = _ALIASES.get(value.strip().lower(), value.strip().lower())
    if name not in known:
        reason = f"unknown adapter {value!r}; imported as openai (the OpenAI protocol)"
        section.report.leave_out(section.key("adapter"), section.position("adapter"), reason)
        return "openai"
    return name


def instance_block(
    section: Section, service: ServiceType, inherited: str, supports: Capabilities | None
) -> CommentedMap | None:
    """The instance in `section`, or None (reported) when it lacks a name or a base URL."""
    name, base = section.text("name"), section.text("base-url")
    if not name or not base:
        section.skip(f"no {'name' if not name else 'base-url'}; the instance is not imported")
        return None
    if "${" not in base and not _is_http(base):
        section.skip(f"base-url {base!r} is not a plain http(s) URL; not imported")
        return None
    adapter = read_adapter(section, supports or ADAPTERS) or inherited
    if supports is not None and service not in supports.get(adapter, frozenset()):
        where = "adapter" if section.has("adapter") else None
        reason = f"jairouter's {adapter} adapter cannot serve {service.value}; imported as openai"
        section.report.leave_out(section.key(where or "name"), section.position(where), reason)
        adapter = "openai"
    block = CommentedMap()
    block["model"] = name
    block["url"] = _url(section, base, service, adapter)
    block["adapter"] = adapter
    _weight(section, block)
    status = section.text("status")
    if status is not None and status.strip().lower() != "active":
        block["enabled"] = False
        block.yaml_add_eol_comment(f"JAiRouter status: {status}", "enabled")
    _headers(section, block)
    timeout = section.number("timeout")
    if timeout is not None and timeout > 0:
        block["timeouts"] = CommentedMap(total=timeout)
        block.yaml_add_eol_comment("JAiRouter's per-request timeout (seconds)", "timeouts")
    elif timeout is not None:
        section.leave_out("timeout", "not a positive number of seconds; not imported")
    limits = section.section("rate-limit")
    if limits is not None:
        blocks = limit_blocks(read_limit(limits, "instance"), None, "instance", section.report)
        if blocks:
            block["rate_limit"] = blocks[0] if len(blocks) == 1 else CommentedSeq(blocks)
    breaker = section.section("circuit-breaker")
    if breaker is not None and (converted := breaker_block(breaker)) is not None:
        block["circuit_breaker"] = converted
    section.finish()
    return block


def _is_http(url: str) -> bool:
    try:
        parts = urlsplit(url)
        plain = not parts.query and not parts.fragment and parts.port != -1  # port parses
        return parts.scheme in ("http", "https") and bool(parts.hostname) and plain
    except ValueError:  # a malformed port or address
        return False


def _url(section: Section, base: str, service: ServiceType, adapter: str) -> str:
    path = section.text("path")
    url = instance_url(base, path, service, adapter)
    if url is not None:
        return url
    hint = (
        " (adapter gpustack understands GPUStack's /v1-openai prefix)"
        if "/v1-openai" in (path or "")
        else ""
    )
    reason = (
        f"jairouter's {adapter} adapter sends {service.value} requests to "
        f"{STANDARD_PATHS[service]} (or its product's own path), not {path}{hint}; "
        "the URL is base-url alone: check it"
    )
    section.report.leave_out(section.key("path"), section.position("path"), reason)
    return base.rstrip("/")


def _weight(section: Section, block: CommentedMap) -> None:
    weight = section.number("weight")
    if weight is None:
        return
    kept = min(max(int(weight), 1), _MAX_WEIGHT)
    if kept != weight:
        reason = f"weight {weight} is outside jairouter's 1-{_MAX_WEIGHT}; imported as {kept}"
        section.report.leave_out(section.key("weight"), section.position("weight"), reason)
    block["weight"] = kept


def _headers(section: Section, block: CommentedMap) -> None:
    headers = CommentedMap()
    for name, value in section.strings("headers").items():
        bearer = _BEARER.fullmatch(value) if name.lower() == "authorization" else None
        if bearer is not None and "api_key" not in block:
            block["api_key"] = bearer.group("key")
        else:
            headers[name] = value
    if headers:
        block["headers"] = headers
