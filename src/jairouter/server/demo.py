"""The demo: simulated backends plus the router over them, all in one event loop."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Callable

from jairouter.config.models import Config
from jairouter.server.app import create_app
from jairouter.server.run import RouterServer, uvicorn_config
from jairouter.simulate import RunningServer, SimSettings, ollama_app, openai_app, start

CHAT_MODEL = "demo-chat"
OLLAMA_MODEL = "llama3.2"
OPENAI_MODELS = {
    "chat": CHAT_MODEL,
    "completion": CHAT_MODEL,
    "embedding": "demo-embed",
    "rerank": "demo-rerank",
    "tts": "demo-tts",
    "stt": "demo-stt",
    "image-generation": "demo-image",
    "image-edit": "demo-image",
}
_REPLY = "Hello from simulated backend {name}: every word you see arrives as one streamed token."


OPENAI_BACKENDS = ("A", "B")
OLLAMA_BACKEND = "Ollama"

Backends = dict[str, str]
"""Simulated backends by name (as their replies say it) -> base URL."""


def demo_config(backends: Backends) -> Config:
    """Every service on the OpenAI-compatible backends (chat spread over all of them, least
    connections), and a chat model on the Ollama backend through the translating adapter."""
    openai_urls = [backends[name] for name in OPENAI_BACKENDS]
    services: dict[str, dict[str, object]] = {
        service: {"instances": [{"model": model, "url": url} for url in openai_urls]}
        for service, model in OPENAI_MODELS.items()
    }
    chat_instances = services["chat"]["instances"]
    assert isinstance(chat_instances, list)
    ollama = {"model": OLLAMA_MODEL, "url": backends[OLLAMA_BACKEND], "adapter": "ollama"}
    chat_instances.append(ollama)
    services["chat"]["load_balance"] = "least-connections"
    return Config.model_validate({"services": services})


@contextlib.asynccontextmanager
async def simulated_backends(token_delay: float) -> AsyncIterator[Backends]:
    """Two OpenAI-compatible backends (A, B) and one Ollama backend on free loopback ports."""
    servers: dict[str, RunningServer] = {}
    try:
        for name in OPENAI_BACKENDS:
            settings = SimSettings(
                models=tuple(sorted(set(OPENAI_MODELS.values()))),
                token_delay=token_delay,
                words=tuple(_REPLY.format(name=name).split()),
            )
            servers[name] = await start(openai_app(settings))
        ollama_settings = SimSettings(
            models=(OLLAMA_MODEL,),
            token_delay=token_delay,
            words=tuple(_REPLY.format(name=OLLAMA_BACKEND).split()),
        )
        servers[OLLAMA_BACKEND] = await start(ollama_app(ollama_settings))
        yield {name: server.url for name, server in servers.items()}
    finally:
        for server in servers.values():
            await server.close()


async def run_demo(
    sock: socket.socket,
    token_delay: float,
    on_ready: Callable[[Config, Backends], None],
    log_level: str = "warning",
) -> None:
    """Serve the demo on `sock` until the server is told to exit (Ctrl-C / SIGTERM)."""
    async with simulated_backends(token_delay) as backends:
        config = demo_config(backends)
        router = create_app(config)
        server = RouterServer(uvicorn_config(router, log_level=log_level), router)
        # `sock` already listens: connections made from here on queue until uvicorn accepts them.
        on_ready(config, backends)
        await server.serve(sockets=[sock])
