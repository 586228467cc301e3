"""Layered settings: the narrowest level wins field by field, and the merge is validated."""

from __future__ import annotations

import pytest

from jairouter.config.loader import parse_config
from jairouter.errors import ConfigError
from jairouter.types import ServiceType

BASE = """
defaults:
  circuit_breaker: {consecutive_failures: 3, open_duration: 10}
  rate_limit:
    - {algorithm: token-bucket, capacity: 100, rate: 10, scope: client}
    - {algorithm: concurrency, max_concurrent: 50, scope: global}
services:
  chat:
    circuit_breaker: {open_duration: 20}
    rate_limit: {algorithm: token-bucket, capacity: 100, rate: 5, scope: client}
    instances:
      - model: m
        url: http://a:1
        circuit_breaker: {half_open_trials: 2}
        rate_limit: {algorithm: concurrency, max_concurrent: 4, scope: instance}
"""


def test_narrowest_level_wins_field_by_field() -> None:
    config = parse_config(BASE, "x.yaml")
    inst = config.services[ServiceType.CHAT].instances[0]
    breaker = config.breaker_of(ServiceType.CHAT, inst)
    assert (breaker.consecutive_failures, breaker.open_duration, breaker.half_open_trials) == (
        3,
        20,
        2,
    )


def test_rate_limits_merge_by_scope_and_instance_limits_add_to_them() -> None:
    config = parse_config(BASE, "x.yaml")
    limits = {(lim.scope, lim.algorithm): lim for lim in config.rate_limits_of(ServiceType.CHAT)}
    client = limits[("client", "token-bucket")]
    assert (client.capacity, client.rate) == (100, 5)
    assert limits[("global", "concurrency")].max_concurrent == 50
    inst = config.services[ServiceType.CHAT].instances[0]
    scopes = {lim.scope for lim in config.rate_limits_of(ServiceType.CHAT, inst)}
    assert scopes == {"client", "global", "instance"}


def test_retry_is_not_an_instance_setting() -> None:
    text = BASE + "        retry: {attempts: 3}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "x.yaml")
    assert [p.key for p in caught.value.problems] == ["services.chat.instances[0].retry"]


def test_an_invalid_merge_is_reported_at_load_time() -> None:
    text = BASE.replace("{half_open_trials: 2}", "{open_duration: 500}")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "x.yaml")
    (problem,) = caught.value.problems
    assert problem.key == "services.chat.instances[0].circuit_breaker.max_open_duration"
    assert "must be at least open_duration" in problem.message


@pytest.mark.parametrize(
    ("service", "fallback", "key"),
    [
        ("chat", "{models: {m: [ghost]}}", "services.chat.fallback.models.m"),
        ("embedding", "{static_response: hi}", "services.embedding.fallback.static_response"),
        ("chat", "{cache: {ttl: 5}}", "services.chat.fallback.cache"),
    ],
)
def test_fallbacks_are_checked(service: str, fallback: str, key: str) -> None:
    text = f"""
services:
  {service}:
    fallback: {fallback}
    instances:
      - {{model: m, url: "http://a:1"}}
"""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "x.yaml")
    assert [p.key for p in caught.value.problems] == [key]
