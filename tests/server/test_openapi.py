"""The admin OpenAPI document describes what a real router answers: GET /admin/status checked
against its schema, with probes, limits and traffic so that no field is only ever null."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from jairouter.config.models import Config
from jairouter.simulate import ServerThread, SimSettings, openai_app
from tests.routers import RouterThread, run_router

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def status_config(url: str) -> Config:
    bucket = {"algorithm": "token-bucket", "capacity": 50, "rate": 1}
    return Config.model_validate(
        {
            "services": {
                "chat": {
                    "health_check": {"interval": 3600, "jitter": 0},
                    "rate_limit": [{**bucket, "scope": "service"}, {**bucket, "scope": "client"}],
                    "instances": [
                        {
                            "model": "m",
                            "url": url,
                            "weight": 2,
                            "rate_limit": {
                                "algorithm": "concurrency",
                                "max_concurrent": 4,
                                "scope": "instance",
                            },
                        }
                    ],
                },
                "embedding": {"instances": [{"model": "e", "url": url}]},
            }
        }
    )


@pytest.fixture(scope="module")
def router() -> Iterator[RouterThread]:
    settings = SimSettings(models=("m", "e"), token_delay=0, reply_tokens=3)
    with ServerThread(openai_app(settings)) as sim, run_router(status_config(sim.url)) as router:
        yield router


def admin(router: RouterThread, path: str) -> Any:
    answer = httpx.get(router.url + path, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def status_validator(document: dict[str, Any]) -> Draft202012Validator:
    """The documented 200 answer of GET /admin/status, its $refs resolved in `document`."""
    content = document["paths"]["/admin/status"]["get"]["responses"]["200"]["content"]
    schema = {**content["application/json"]["schema"], "components": document["components"]}
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_a_real_status_matches_its_documented_schema(router: RouterThread) -> None:
    with httpx.Client(base_url=router.url, timeout=10) as client:
        for _ in range(3):
            assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
    status = admin(router, "/admin/status")
    validator = status_validator(admin(router, "/admin/openapi.json"))

    assert list(validator.iter_errors(status)) == []
    (chat,) = status["services"]["chat"]
    assert chat["healthy"] is True
    assert chat["p50_ms"] is not None
    assert [limit["scope"] for limit in chat["limits"]] == ["instance"]
    assert {limit["scope"] for limit in status["service_limits"]["chat"]} == {"service", "client"}
    assert status["services"]["embedding"][0]["limits"] == []
    assert status["service_limits"]["embedding"] == []


def test_the_status_schema_is_strict_on_known_fields_and_open_to_new_ones(
    router: RouterThread,
) -> None:
    status = admin(router, "/admin/status")
    validator = status_validator(admin(router, "/admin/openapi.json"))
    instance = status["services"]["chat"][0]

    # Fields a newer router may add anywhere are no reason to reject its answer.
    grown = {**status, "recent_errors": [], "config": {**status["config"], "source": "file"}}
    grown["services"] = {"chat": [{**instance, "ttft_p50_ms": 12.5}]}
    assert validator.is_valid(grown)

    broken_circuit = {**status, "services": {"chat": [{**instance, "circuit": "broken"}]}}
    assert not validator.is_valid(broken_circuit)
    without_limits = {k: v for k, v in instance.items() if k != "limits"}
    assert not validator.is_valid({**status, "services": {"chat": [without_limits]}})
    assert not validator.is_valid({**status, "config": {**status["config"], "generation": "2"}})
