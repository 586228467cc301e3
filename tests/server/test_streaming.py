"""Streams are relayed as the upstream produces them, never buffered."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from jairouter.config.models import Config
from jairouter.simulate import ServerThread, SimSettings, ollama_app, openai_app
from tests.routers import RouterThread, run_router

TOKENS = 20


@pytest.fixture(scope="module")
def slow() -> Iterator[tuple[RouterThread, ServerThread, ServerThread]]:
    settings = SimSettings(models=("slow",), token_delay=0.05, reply_tokens=TOKENS)
    with (
        ServerThread(openai_app(settings)) as backend,
        ServerThread(ollama_app(settings)) as ollama,
        run_router(
            Config.model_validate(
                {
                    "services": {
                        "chat": {
                            "instances": [
                                {"model": "slow", "url": backend.url},
                                {
                                    "model": "slow-ollama",
                                    "url": ollama.url,
                                    "adapter": "ollama",
                                    "upstream_model": "slow",
                                },
                            ]
                        }
                    }
                }
            )
        ) as router,
    ):
        yield router, backend, ollama


@pytest.mark.parametrize("model", ["slow", "slow-ollama"])
def test_first_chunk_arrives_before_the_backend_sends_its_last(
    slow: tuple[RouterThread, ServerThread, ServerThread], model: str
) -> None:
    router, backend, ollama = slow
    sim = backend if model == "slow" else ollama
    sim.journal.clear()
    client = openai.OpenAI(base_url=router.url + "/v1", api_key="x", max_retries=0)
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    pieces = []
    backend_done_at_first_token: bool | None = None
    for chunk in stream:
        content = chunk.choices[0].delta.content if chunk.choices else None
        if content and backend_done_at_first_token is None:
            backend_done_at_first_token = sim.journal.last.completed
        if content:
            pieces.append(content)
    assert backend_done_at_first_token is False  # the backend was still generating
    assert len(pieces) == TOKENS
    sim.journal.wait_until(lambda j: j.completed == 1)
    client.close()
