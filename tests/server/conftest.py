"""End-to-end fixtures: simulated backends on real ports, the real router on uvicorn in front."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from jairouter.config.models import Config
from jairouter.simulate import ServerThread, SimSettings, ollama_app, openai_app
from tests.routers import RouterThread, run_router

CHAT = "chat-model"
PUBLIC = "public-name"  # fronts UPSTREAM on backend A via upstream_model
UPSTREAM = "upstream-name"
MODELS = (CHAT, UPSTREAM, "embed-model", "rerank-model", "tts-model", "stt-model", "image-model")
OLLAMA = "llama3.2"
KEY = "sk-backend-a"


@dataclass
class Stack:
    router: RouterThread
    a: ServerThread  # OpenAI-compatible, requires KEY
    b: ServerThread  # OpenAI-compatible, no key
    ollama: ServerThread
    client: openai.OpenAI

    @property
    def url(self) -> str:
        return self.router.url


def stack_config(a: str, b: str, ollama: str, **server: Any) -> Config:
    def on_both(model: str) -> list[dict[str, Any]]:
        return [{"model": model, "url": a, "api_key": KEY}, {"model": model, "url": b}]

    return Config.model_validate(
        {
            "server": server,
            "services": {
                "chat": {
                    "instances": [
                        *on_both(CHAT),
                        {
                            "model": PUBLIC,
                            "url": a + "/v1",
                            "api_key": KEY,
                            "upstream_model": UPSTREAM,
                        },
                        {"model": OLLAMA, "url": ollama, "adapter": "ollama"},
                    ]
                },
                "completion": {
                    "instances": [
                        *on_both(CHAT),
                        {"model": OLLAMA, "url": ollama, "adapter": "ollama"},
                    ]
                },
                "embedding": {
                    "instances": [
                        *on_both("embed-model"),
                        {"model": OLLAMA, "url": ollama, "adapter": "ollama"},
                    ]
                },
                "rerank": {"instances": on_both("rerank-model")},
                "tts": {"instances": on_both("tts-model")},
                "stt": {"instances": on_both("stt-model")},
                "image-generation": {"instances": on_both("image-model")},
                "image-edit": {"instances": on_both("image-model")},
            },
        }
    )


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """Two OpenAI-compatible backends (A with an API key) and one Ollama, behind one router."""
    fast = {"token_delay": 0.0, "reply_tokens": 8}
    with (
        ServerThread(openai_app(SimSettings(models=MODELS, api_key=KEY, **fast))) as a,
        ServerThread(openai_app(SimSettings(models=MODELS, **fast))) as b,
        ServerThread(ollama_app(SimSettings(models=(OLLAMA,), **fast))) as ollama,
        run_router(stack_config(a.url, b.url, ollama.url)) as router,
    ):
        client = openai.OpenAI(base_url=router.url + "/v1", api_key="client-key", max_retries=0)
        yield Stack(router, a, b, ollama, client)
        client.close()


@pytest.fixture
def fresh(stack: Stack) -> Stack:
    """The shared stack with empty journals, so a test sees only its own upstream requests."""
    for sim in (stack.a, stack.b, stack.ollama):
        sim.journal.clear()
    return stack
