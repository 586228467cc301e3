"""Simulated servers on real loopback ports, one per test so each journal starts empty."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from jairouter.simulate import ServerThread, SimSettings, ollama_app, openai_app

KEY = "sk-sim-test"


@pytest.fixture
def openai_sim() -> Iterator[ServerThread]:
    settings = SimSettings(models=("sim-chat", "sim-embed"), token_delay=0, api_key=KEY)
    with ServerThread(openai_app(settings)) as sim:
        yield sim


@pytest.fixture
def client(openai_sim: ServerThread) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=openai_sim.url + "/v1", api_key=KEY, max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def ollama_sim() -> Iterator[ServerThread]:
    with ServerThread(ollama_app(SimSettings(models=("llama3.2",), token_delay=0))) as sim:
        yield sim


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(headers={"Authorization": f"Bearer {KEY}"}, timeout=10) as h:
        yield h
