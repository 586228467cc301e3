"""The configs we ship (examples and `jairouter init`'s starter) are valid as they stand."""

from __future__ import annotations

from pathlib import Path

import pytest

from jairouter.adapters.registry import capabilities
from jairouter.config.loader import load_config, parse_config
from jairouter.config.starter import STARTER
from jairouter.types import ServiceType

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_the_examples_are_the_ones_documented() -> None:
    names = {p.name for p in CONFIGS.glob("*.yaml")}
    assert {"minimal.yaml", "ollama-vllm-cluster.yaml", "reference.yaml"} <= names


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_example_config_validates(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    config = load_config(path, adapters=capabilities())
    assert any(service.instances for service in config.services.values())


def test_cluster_example_shows_weights_and_ip_hash_over_ollama_and_vllm() -> None:
    config = load_config(CONFIGS / "ollama-vllm-cluster.yaml", adapters=capabilities())
    instances = [i for service in config.services.values() for i in service.instances]
    assert {i.adapter for i in instances} == {"ollama", "vllm"}
    assert len(config.services) > 1
    assert any(i.weight > 1 for i in instances)
    assert "ip-hash" in {config.load_balance_of(service) for service in config.services}


def test_starter_validates_and_serves_chat() -> None:
    config = parse_config(STARTER, "jairouter.yaml", adapters=capabilities(), env={})
    assert config.services[ServiceType.CHAT].instances
