"""Outlier detection is kept per pool (a model's instances), as Envoy keeps it per cluster: a
config whose instances of one model get different outlier settings is rejected at load time."""

from __future__ import annotations

from pathlib import Path

import pytest

from jairouter.adapters.registry import capabilities
from jairouter.config.loader import load_config, parse_config
from jairouter.errors import ConfigError

KEY = "services.chat.instances[{}].health_check.outlier"


def chat(*instances: str, service: str = "") -> str:
    return "services:\n  chat:\n" + service + "    instances:\n" + "".join(instances)


def instance(model: str, url: str, outlier: str | None = None, *, enabled: bool = True) -> str:
    text = f"      - model: {model}\n        url: {url}\n"
    if not enabled:
        text += "        enabled: false\n"
    if outlier is not None:
        text += f"        health_check:\n          outlier: {outlier}\n"
    return text


SERVICE_OUTLIER = "    health_check:\n      outlier: {consecutive_failures: 3}\n"


def test_an_instance_differing_from_its_pool_is_reported_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "jairouter.yaml"
    path.write_text(
        chat(
            instance("m", "http://a:1"),
            instance("m", "http://b:1", "{consecutive_failures: 10}"),
            service=SERVICE_OUTLIER,
        )
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, adapters=capabilities())
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.key) == (str(path), 11, KEY.format(1))
    assert "differs from what instances[0] gets" in problem.message
    assert "kept per model" in problem.message
    assert "service's health_check (or under defaults:)" in problem.message


def test_the_instances_setting_their_own_are_the_ones_reported() -> None:
    own = "{max_ejection_percent: 100}"
    text = chat(instance("m", "http://a:1", own), instance("m", "http://b:1"))
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "x.yaml")
    assert [p.key for p in caught.value.problems] == [KEY.format(0)]

    everyone_own = chat(
        instance("m", "http://a:1", own),
        instance("m", "http://b:1", "{max_ejection_percent: 20}"),
        instance("m", "http://c:1", "{max_ejection_percent: 30}"),
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(everyone_own, "x.yaml")
    assert [p.key for p in caught.value.problems] == [KEY.format(1), KEY.format(2)]


def test_a_disabled_instance_must_agree_too() -> None:
    """Enabling it later must not make a valid file invalid."""
    text = chat(
        instance("m", "http://a:1"),
        instance("m", "http://b:1", "{enabled: false}", enabled=False),
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "x.yaml")
    assert [p.key for p in caught.value.problems] == [KEY.format(1)]


@pytest.mark.parametrize(
    "text",
    [
        # Each model is a pool of its own.
        chat(instance("m", "http://a:1"), instance("n", "http://b:1", "{enabled: false}")),
        # Restating what the pool gets is no difference.
        chat(
            instance("m", "http://a:1"),
            instance("m", "http://b:1", "{consecutive_failures: 3}"),
            service=SERVICE_OUTLIER,
        ),
        # Every instance of the model saying the same.
        chat(
            instance("m", "http://a:1", "{base_ejection_time: 5}"),
            instance("m", "http://b:1", "{base_ejection_time: 5}"),
        ),
    ],
)
def test_agreeing_pools_load(text: str) -> None:
    parse_config(text, "x.yaml")
