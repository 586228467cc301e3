"""Streams are relayed as the upstream produces them, never buffered."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import openai
import pytest
from aiohttp import web

from jairouter.config.models import Config
from jairouter.simulate import Call, ServerThread, SimSettings, ollama_app, openai_app
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


# Events cut at odd places, as TCP may deliver them: within a line, between the two newlines
# that end an event, and with CRLF line ends.
PIECES = (
    b'data: {"n": 1}\n',
    b'\ndata: {"n"',
    b': 2}\n\ndata: {"n": 3}\n\n',
    b'data: {"n": 4}\r\n\r\ndata: {"n": 5}\r',
    b"\n\r\n",
    b"data: [DONE]\n\n",
)


async def _send_pieces(call: Call) -> web.StreamResponse | None:
    if call.request.method != "POST":
        return None
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(call.request)
    for piece in PIECES:
        await response.write(piece)
        await asyncio.sleep(0.02)  # so that each piece reaches the router on its own
    await response.write_eof()
    return response


def test_events_torn_across_chunks_reach_the_client_whole() -> None:
    settings = SimSettings(models=("torn",), hook=_send_pieces)
    with (
        ServerThread(openai_app(settings)) as backend,
        run_router(
            Config.model_validate(
                {"services": {"chat": {"instances": [{"model": "torn", "url": backend.url}]}}}
            )
        ) as router,
    ):
        body = {"model": "torn", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
        resp = httpx.post(router.url + "/v1/chat/completions", json=body, timeout=10)
    assert resp.status_code == 200
    assert resp.content == b"".join(PIECES)
