"""Rate limits' live state in GET /admin/status, read from a real router after real traffic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from jairouter.config.models import Config
from jairouter.simulate import ServerThread, SimSettings, openai_app
from tests.routers import run_router

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
RATE_TINY = 0.001  # nothing refills while a test runs, so counts are exact to a hair
SENT = 3


@pytest.fixture(scope="module")
def sim() -> Iterator[ServerThread]:
    with ServerThread(openai_app(SimSettings(models=("m",), token_delay=0))) as server:
        yield server


def limited_config(url: str) -> Config:
    return Config.model_validate(
        {
            "services": {
                "chat": {
                    "rate_limit": [
                        {
                            "algorithm": "token-bucket",
                            "capacity": 10,
                            "rate": RATE_TINY,
                            "scope": "service",
                        },
                        {
                            "algorithm": "sliding-window",
                            "capacity": 100_000,
                            "window": 3600,
                            "unit": "tokens",
                            "scope": "model",
                        },
                        {
                            "algorithm": "token-bucket",
                            "capacity": 20,
                            "rate": RATE_TINY,
                            "scope": "client",
                        },
                        {"algorithm": "concurrency", "max_concurrent": 64, "scope": "global"},
                    ],
                    "instances": [
                        {
                            "model": "m",
                            "url": url,
                            "rate_limit": {
                                "algorithm": "leaky-bucket",
                                "capacity": 8,
                                "rate": RATE_TINY,
                                "scope": "instance",
                            },
                        }
                    ],
                },
                "embedding": {"instances": [{"model": "e", "url": url}]},
            }
        }
    )


def status_after(config: Config, requests: int) -> dict[str, Any]:
    with run_router(config) as router, httpx.Client(base_url=router.url, timeout=10) as client:
        for _ in range(requests):
            assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
        status: dict[str, Any] = client.get("/admin/status").json()
        return status


def test_status_shows_each_limit_capacity_less_what_requests_took(sim: ServerThread) -> None:
    status = status_after(limited_config(sim.url), SENT)

    (instance,) = status["services"]["chat"]
    (own,) = instance["limits"]
    assert own == {
        "scope": "instance",
        "unit": "requests",
        "algorithm": "leaky-bucket",
        "capacity": 8.0,
        "available": pytest.approx(8.0 - SENT, abs=0.01),
    }
    service, model, client, everyone = status["service_limits"]["chat"]
    assert service == {
        "scope": "service",
        "unit": "requests",
        "algorithm": "token-bucket",
        "capacity": 10.0,
        "available": pytest.approx(10.0 - SENT, abs=0.01),
    }
    # Keyed scopes count their keys: one model, one client (the test, over loopback).
    assert model == {
        "scope": "model",
        "unit": "tokens",
        "algorithm": "sliding-window",
        "capacity": 100_000.0,
        "available": None,
        "keys": 1,
    }
    assert client == {
        "scope": "client",
        "unit": "requests",
        "algorithm": "token-bucket",
        "capacity": 20.0,
        "available": None,
        "keys": 1,
    }
    # Requests in flight only: all three have ended.
    assert everyone["scope"] == "global"
    assert everyone["capacity"] == everyone["available"] == 64.0
    assert status["service_limits"]["embedding"] == []
    assert status["services"]["embedding"][0]["limits"] == []


def test_reading_the_status_takes_nothing_from_any_limit(sim: ServerThread) -> None:
    config = limited_config(sim.url)
    with run_router(config) as router, httpx.Client(base_url=router.url, timeout=10) as client:
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
        for _ in range(5):
            client.get("/admin/status")
        status = client.get("/admin/status").json()
    service, *_ = status["service_limits"]["chat"]
    assert service["available"] == pytest.approx(9.0, abs=0.01)
    assert status["services"]["chat"][0]["limits"][0]["available"] == pytest.approx(7.0, abs=0.01)
