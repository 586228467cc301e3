"""Importing JAiRouter's application.yml: what each setting becomes, and what is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from jairouter.adapters.registry import capabilities
from jairouter.config.jairouter_import import ImportResult, import_jairouter
from jairouter.config.jairouter_import.placeholders import convert
from jairouter.config.loader import parse_config
from jairouter.config.models import Config
from jairouter.errors import ConfigError
from jairouter.types import ServiceType

FIXTURE = Path(__file__).parent / "fixtures" / "jairouter-application.yml"
S = ServiceType


def imported(text: str) -> ImportResult:
    return import_jairouter(text, "application.yml", adapters=capabilities())


def loaded(result: ImportResult, env: dict[str, str] | None = None) -> Config:
    """The result as the router would load it: any problem here is an importer bug."""
    return parse_config(result.text, "imported.yaml", adapters=capabilities(), env=env or {})


def reasons(result: ImportResult) -> dict[str, str]:
    return {item.key: item.reason for item in result.unmapped}


@pytest.fixture(scope="module")
def fixture_result() -> ImportResult:
    return imported(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def config(fixture_result: ImportResult) -> Config:
    return loaded(fixture_result)


def test_fixture_imports_every_service(fixture_result: ImportResult, config: Config) -> None:
    expected = ["chat", "embedding", "rerank", "tts", "stt", "image-generation", "image-edit"]
    assert list(fixture_result.services) == expected
    assert [service.value for service in config.services] == expected
    assert fixture_result.services == {
        name: len(config.services[S(name)].instances) for name in expected
    }


def test_balancers_global_and_per_service(config: Config) -> None:
    assert config.defaults.load_balance == "random"
    assert config.load_balance_of(S.CHAT) == "least-connections"
    assert config.load_balance_of(S.EMBEDDING) == "round-robin"
    assert config.load_balance_of(S.RERANK) == "ip-hash"
    assert config.load_balance_of(S.TTS) == "random"  # inherited


def test_instances_urls_adapters_weights_and_keys(config: Config) -> None:
    gpustack, ollama, inactive = config.services[S.CHAT].instances
    assert (gpustack.model, gpustack.url, gpustack.adapter) == (
        "qwen3:4b",
        "http://10.20.0.6:9090",  # the standard path is the adapter's own
        "gpustack",  # the global adapter
    )
    assert gpustack.weight == 3
    assert gpustack.api_key == ""  # Bearer ${GPUSTACK_API_TOKEN:} with the variable unset
    assert gpustack.headers == {"X-Tenant": "research"}
    assert (ollama.url, ollama.adapter) == ("http://10.20.0.7:11434", "ollama")
    assert (inactive.adapter, inactive.enabled) == ("openai", False)  # unknown adapter; inactive
    assert inactive.url == "http://10.20.0.8:8000"
    [reranker] = config.services[S.RERANK].instances
    assert (reranker.url, reranker.adapter, reranker.weight) == (
        "http://rerank-server:8000",
        "vllm",
        2,
    )
    [legacy] = config.services[S.IMAGE_GENERATION].instances
    assert legacy.url == "http://10.20.0.10:9090/v1-openai"  # gpustack keeps its legacy prefix


def test_duplicate_instances_merge_with_their_weights_added(
    fixture_result: ImportResult, config: Config
) -> None:
    [merged] = config.services[S.EMBEDDING].instances
    assert (merged.model, merged.url, merged.weight) == (
        "bge-large-zh-v1.5",
        "http://10.20.0.6:9090",
        2,
    )
    assert (
        "merged into it, weights added"
        in reasons(fixture_result)["model.services.embedding.instances[1]"]
    )


def test_rate_limits(config: Config) -> None:
    [wide] = config.defaults.rate_limit or []
    assert (wide.algorithm, wide.capacity, wide.rate, wide.scope) == (
        "token-bucket",
        1000,
        100,
        "service",
    )
    chat = {limit.scope: limit for limit in config.services[S.CHAT].rate_limit or []}
    assert (chat["service"].capacity, chat["service"].rate) == (100, 10)
    assert (chat["client"].capacity, chat["client"].rate) == (100, 10)  # client-ip-enable
    [per_client] = config.services[S.EMBEDDING].rate_limit or []  # the global client-ip-enable
    assert (per_client.scope, per_client.capacity, per_client.rate) == ("client", 1000, 100)
    first = config.services[S.CHAT].instances[0]
    [instance] = first.rate_limit or []
    assert (instance.scope, instance.capacity, instance.rate) == ("instance", 50, 5)
    window = config.services[S.TTS].rate_limit or []
    assert (window[0].algorithm, window[0].capacity, window[0].window) == ("sliding-window", 3, 1)
    warm = (config.services[S.STT].rate_limit or [])[0]
    assert (warm.algorithm, warm.rate, warm.warm_up, warm.scope) == ("warm-up", 3, 600, "client")


def test_circuit_breakers(config: Config) -> None:
    wide = config.defaults.circuit_breaker
    assert wide is not None
    assert (wide.consecutive_failures, wide.open_duration, wide.success_threshold) == (5, 60, 2)
    embedding = config.services[S.EMBEDDING]
    merged = config.breaker_of(S.EMBEDDING, embedding.instances[0])
    assert (merged.consecutive_failures, merged.open_duration, merged.success_threshold) == (
        10,
        30,
        3,
    )
    ollama = config.services[S.CHAT].instances[1]
    breaker = config.breaker_of(S.CHAT, ollama)
    assert (breaker.consecutive_failures, breaker.open_duration, breaker.success_threshold) == (
        3,
        15,
        1,
    )


def test_fallback_cache_only_where_answers_are_cached(
    fixture_result: ImportResult, config: Config
) -> None:
    fallback = config.services[S.RERANK].fallback
    assert fallback is not None
    assert fallback.cache is not None
    assert (fallback.cache.max_entries, fallback.cache.ttl) == (50, 600)
    assert config.services[S.IMAGE_GENERATION].fallback is None
    found = reasons(fixture_result)
    assert "only for embedding and rerank" in found["model.services.imgGen.fallback.strategy"]
    assert "no direct equivalent" in found["model.fallback.strategy"]


def test_placeholders_become_jairouter_references(fixture_result: ImportResult) -> None:
    text = fixture_result.text
    assert "api_key: ${GPUSTACK_API_TOKEN:-}" in text
    assert "X-Tenant: ${TENANT_ID:-research}" in text
    assert "url: ${LLAMA_URL:-http://10.20.0.8:8000}" in text
    env = {"GPUSTACK_API_TOKEN": "t0k", "TENANT_ID": "ops", "LLAMA_URL": "http://llama:8000"}
    config = loaded(fixture_result, env)
    first, _, last = config.services[S.CHAT].instances
    assert (first.api_key, first.headers["X-Tenant"], last.url) == (
        "t0k",
        "ops",
        "http://llama:8000",
    )


@pytest.mark.parametrize(
    ("spring", "ours", "lost"),
    [
        ("${A}", "${A}", False),
        ("${A:}", "${A:-}", False),
        ("http://${HOST:localhost}:${PORT:80}/x", "http://${HOST:-localhost}:${PORT:-80}/x", False),
        ("${A:${B:x}}", "${A:-x}", True),
        ("${server.port:8080}", "8080", True),
        ("a${b", "a$${b", True),
        ("no placeholder", "no placeholder", False),
    ],
)
def test_placeholder_conversion(spring: str, ours: str, lost: bool) -> None:
    text, problems = convert(spring)
    assert text == ours
    assert bool(problems) is lost


def test_unmapped_keys_are_reported_with_their_position(fixture_result: ImportResult) -> None:
    by_key = {item.key: item for item in fixture_result.unmapped}
    sticky = by_key["model.services.chat.sticky"]
    assert (sticky.file, sticky.line, sticky.column) == ("application.yml", 49, 7)
    assert set(by_key) >= {
        "spring",
        "model.load-balance.hash-algorithm",
        "model.services.chat.instances[0].instance-id",
        "model.services.chat.instances[2].adapter",
        "model.services.chat.instances[2].healthy",
        "model.services.tts.instances[1].path",
        "model.services.moderation",
        "(document 2)",
    }
    lines = [item.line or 0 for item in fixture_result.unmapped]
    assert lines == sorted(lines)
    assert "18 settings were left out or changed" in " ".join(fixture_result.text.split())


def test_output_is_commented(fixture_result: ImportResult) -> None:
    assert fixture_result.text.startswith("# Imported from application.yml")
    assert "# - circuit_breaker: JAiRouter opened only after" in fixture_result.text
    assert "enabled: false  # JAiRouter status: inactive" in fixture_result.text


MINIMAL = """\
model:
  services:
    chat:
      instances:
        - name: m
          base-url: http://h:1
"""


def test_minimal_file_uses_jairouters_reading_of_the_defaults() -> None:
    result = imported(MINIMAL)
    config = loaded(result)
    [inst] = config.services[S.CHAT].instances
    assert (inst.adapter, inst.url) == ("openai", "http://h:1")  # JAiRouter's "normal"
    assert config.defaults.load_balance == "random"  # JAiRouter's default balancer
    assert result.unmapped == []


def test_relaxed_names_and_old_layout() -> None:
    result = imported(
        """\
model:
  services:
    load-balance: {type: ROUND_ROBIN}
    img_edit:
      circuit_breaker: {FAILURE_THRESHOLD: 2, timeout: 400000}
      rateLimit: {enabled: on, algorithm: leaky-bucket, capacity: "20", rate: 2}
      instances:
        - {name: m, baseUrl: "http://h:1/proxy", path: /v1/images/edits, weight: 20000}
"""
    )
    config = loaded(result)
    service = config.services[S.IMAGE_EDIT]
    assert config.defaults.load_balance == "round-robin"
    assert service.circuit_breaker is not None
    assert (
        service.circuit_breaker.consecutive_failures,
        service.circuit_breaker.open_duration,
    ) == (2, 400)
    assert service.circuit_breaker.max_open_duration == 400
    [limit] = service.rate_limit or []
    assert (limit.algorithm, limit.capacity, limit.rate, limit.scope) == (
        "leaky-bucket",
        20,
        2,
        "service",
    )
    [inst] = service.instances
    assert (inst.url, inst.weight) == ("http://h:1/proxy", 10_000)
    assert (
        "outside jairouter's 1-10000"
        in reasons(result)["model.services.img_edit.instances[0].weight"]
    )
    assert "model.services.load-balance" not in reasons(result)  # read as the global one


def test_what_cannot_be_kept_is_reported() -> None:
    result = imported(
        """\
model:
  rate-limit: {algorithm: token-bucket, capacity: 10, rate: 1}
  services:
    tts:
      adapter: ollama
      rate-limit: {enabled: true, algorithm: fixed-window, rate: 1}
      fallback: {enabled: true, strategy: default}
      instances:
        - name: voice
          base-url: http://h:1
          path: /speak
          rate-limit: {enabled: true, rate: "${RATE:4}", capacity: 8, client-ip-enable: true}
        - base-url: http://h:2
        - {name: voice, base-url: "10.0.0.3:8000"}
"""
    )
    config = loaded(result)
    [inst] = config.services[S.TTS].instances
    assert (inst.adapter, inst.url) == ("openai", "http://h:1")  # ollama cannot serve tts
    [limit] = inst.rate_limit or []
    assert (limit.rate, limit.capacity, limit.scope) == (4, 8, "instance")
    assert config.defaults.rate_limit is None
    assert config.services[S.TTS].rate_limit is None
    found = reasons(result)
    assert "not enabled" in found["model.rate-limit"]
    assert "unknown algorithm 'fixed-window'" in found["model.services.tts.rate-limit.algorithm"]
    assert "cannot serve tts" in found["model.services.tts.instances[0].name"]
    assert "not /speak" in found["model.services.tts.instances[0].path"]
    assert "fixed to its default 4" in found["model.services.tts.instances[0].rate-limit.rate"]
    assert (
        "only globally and per service"
        in found["model.services.tts.instances[0].rate-limit.client-ip-enable"]
    )
    assert "no name" in found["model.services.tts.instances[1]"]
    assert "not a plain http(s) URL" in found["model.services.tts.instances[2]"]
    assert "no direct equivalent" in found["model.services.tts.fallback.strategy"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("server:\n  port: 8080\n", None, "no `model:` section found"),
        ("model:\n  services: [\n", 3, "not valid YAML"),
    ],
)
def test_sources_that_cannot_be_imported(text: str, line: int | None, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        imported(text)
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == ("application.yml", line)
    assert message in problem.message
