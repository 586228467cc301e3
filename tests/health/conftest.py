"""Simulated backends on real loopback ports to probe, and probe targets pointing at them."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from jairouter.adapters.registry import ADAPTERS
from jairouter.config.models import InstanceConfig
from jairouter.config.resilience import HealthCheckConfig
from jairouter.health import ProbeTarget, probe_target
from jairouter.simulate import Call, ServerThread, SimSettings, ollama_app, openai_app
from jairouter.types import ServiceType

KEY = "sk-probe-test"
OLLAMA_MODEL = "llama3.2"


def make_target(url: str, model: str = "sim-chat", **fields: Any) -> ProbeTarget:
    """The probe of one chat instance; `check` fields go to its health_check settings."""
    check = HealthCheckConfig(**fields.pop("check", {}))
    instance = InstanceConfig(model=model, url=url, **fields)
    return probe_target(ServiceType.CHAT, instance, ADAPTERS[instance.adapter](instance), check)


class Faults:
    """What the faulty backend does with the next request: answer normally or misbehave."""

    def __init__(self) -> None:
        self.mode = "ok"

    async def __call__(self, call: Call) -> web.StreamResponse | None:
        if self.mode == "503":
            return web.json_response({"error": {"message": "model is loading"}}, status=503)
        if self.mode == "html":
            return web.Response(text="<html>a web page</html>", content_type="text/html")
        if self.mode == "stall":
            await asyncio.sleep(30)
        return None


@pytest.fixture
def openai_sim() -> Iterator[ServerThread]:
    settings = SimSettings(models=("sim-chat", "sim-embed"), token_delay=0, api_key=KEY)
    with ServerThread(openai_app(settings)) as sim:
        yield sim


@pytest.fixture
def ollama_sim() -> Iterator[ServerThread]:
    with ServerThread(ollama_app(SimSettings(models=(OLLAMA_MODEL,), token_delay=0))) as sim:
        yield sim


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def faulty_sim(faults: Faults) -> Iterator[ServerThread]:
    settings = SimSettings(models=("sim-chat",), token_delay=0, hook=faults)
    with ServerThread(openai_app(settings)) as sim:
        yield sim


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nothing listens on (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
