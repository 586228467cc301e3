from __future__ import annotations

import pytest

from jairouter.adapters.registry import ADAPTERS
from jairouter.config.models import Config, InstanceConfig
from jairouter.config.resilience import HealthCheckConfig
from jairouter.health import Probeable, probe_target, probe_targets
from jairouter.pipeline.routing import RouteTable
from jairouter.types import ServiceType
from tests.health.conftest import make_target


@pytest.mark.parametrize(
    ("url", "adapter", "probe_url"),
    [
        ("http://h:8000", "openai", "http://h:8000/v1/models"),
        ("http://h:8000/v1", "openai", "http://h:8000/v1/models"),
        ("http://h:8000/v1", "vllm", "http://h:8000/v1/models"),
        ("http://h:9997", "xinference", "http://h:9997/v1/models"),
        ("http://h:8080/v1", "localai", "http://h:8080/v1/models"),
        ("http://h:80", "gpustack", "http://h:80/v1/models"),
        ("http://h:11434", "ollama", "http://h:11434/api/tags"),
        ("http://h:11434/api", "ollama", "http://h:11434/api/tags"),
        ("http://h:11434/v1", "ollama", "http://h:11434/api/tags"),
    ],
)
def test_each_adapter_probes_its_model_list(url: str, adapter: str, probe_url: str) -> None:
    target = make_target(url, adapter=adapter)
    assert target.probe_url == probe_url
    assert target.lists_models


def test_every_registered_adapter_can_be_probed() -> None:
    for name, factory in ADAPTERS.items():
        adapter = factory(InstanceConfig(model="m", url="http://h:1", adapter=name))
        assert isinstance(adapter, Probeable), name


def test_a_configured_path_replaces_the_model_list() -> None:
    target = make_target("http://h:8000/v1", check={"path": "/health"})
    assert target.probe_url == "http://h:8000/health"
    assert not target.lists_models


def test_the_instance_headers_and_key_are_sent() -> None:
    target = make_target("http://h:8000", api_key="sk-1", headers={"X-Team": "ml"})
    assert target.headers["Authorization"] == "Bearer sk-1"
    assert target.headers["X-Team"] == "ml"


def test_the_server_is_asked_for_the_upstream_model() -> None:
    target = make_target("http://h:8000", model="public", upstream_model="private")
    assert (target.model, target.upstream_model) == ("public", "private")
    assert target.label == "public@http://h:8000"


def test_an_adapter_without_a_probe_is_refused() -> None:
    instance = InstanceConfig(model="m", url="http://h:1")
    with pytest.raises(TypeError, match="does not say how to probe"):
        probe_target(ServiceType.CHAT, instance, object(), HealthCheckConfig())


def test_targets_cover_the_config_with_the_routers_keys() -> None:
    config = Config.model_validate(
        {
            "services": {
                "chat": {
                    "instances": [
                        {"model": "a", "url": "http://h:1"},
                        {"model": "b", "url": "http://h:2", "adapter": "ollama"},
                    ]
                },
                "embedding": {"instances": [{"model": "e", "url": "http://h:3"}]},
            }
        }
    )
    slow = HealthCheckConfig(interval=60)
    targets = list(probe_targets(config, ADAPTERS, lambda service, inst: slow))
    routed = [t.key for t in RouteTable(config, ADAPTERS).targets()]
    assert [t.key for t in targets] == routed
    assert all(t.check is slow for t in targets)
    assert next(probe_targets(config, ADAPTERS)).check == HealthCheckConfig()
