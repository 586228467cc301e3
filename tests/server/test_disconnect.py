"""A client that goes away takes its upstream request with it, and nothing stays in flight.

The backends journal how each request ended, so the test thread waits for the upstream side of a
disconnect with `journal.wait_until`; `Settled` does the same for the router's in-flight counters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from jairouter.config.models import Config
from jairouter.simulate import Call, ServerThread, SimSettings, ollama_app, openai_app
from tests.routers import RouterThread, Settled, run_router

SLOW = "slow-model"  # 40 tokens, one every 50 ms: a two-second stream
SLOW_OLLAMA = "slow-llama"  # the same through the Ollama adapter's translated stream
STALLED = "stalled-model"  # never answers
MANY = "many-model"  # quick streams on two backends
SLOW_SETTINGS: dict[str, Any] = {"token_delay": 0.05, "reply_tokens": 40}
QUICK = SimSettings(models=(MANY,), token_delay=0.01, reply_tokens=16)


async def _stall(call: Call) -> None:
    if (await call.json()).get("model") == STALLED:
        await asyncio.Event().wait()  # until cancelled: the router closed the connection


class Backends:
    def __init__(self, slow: ServerThread, ollama: ServerThread, a: ServerThread, b: ServerThread):
        self.slow = slow
        self.ollama = ollama
        self.a = a
        self.b = b

    def clear(self) -> None:
        for sim in (self.slow, self.ollama, self.a, self.b):
            sim.journal.clear()


@pytest.fixture(scope="module")
def backends() -> Iterator[Backends]:
    slow = SimSettings(models=(SLOW, STALLED), hook=_stall, **SLOW_SETTINGS)
    with (
        ServerThread(openai_app(slow)) as slow_sim,
        ServerThread(ollama_app(SimSettings(models=(SLOW_OLLAMA,), **SLOW_SETTINGS))) as ollama,
        ServerThread(openai_app(QUICK)) as a,
        ServerThread(openai_app(QUICK)) as b,
    ):
        yield Backends(slow_sim, ollama, a, b)


@pytest.fixture(scope="module")
def router(backends: Backends) -> Iterator[RouterThread]:
    instances = [
        {"model": SLOW, "url": backends.slow.url},
        {"model": STALLED, "url": backends.slow.url},
        {"model": SLOW_OLLAMA, "url": backends.ollama.url, "adapter": "ollama"},
        {"model": MANY, "url": backends.a.url},
        {"model": MANY, "url": backends.b.url},
    ]
    config = Config.model_validate({"services": {"chat": {"instances": instances}}})
    with run_router(config) as running:
        yield running


@pytest.fixture(scope="module")
def settled(router: RouterThread) -> Settled:
    return Settled(router)


@pytest.fixture(autouse=True)
def _fresh(backends: Backends, settled: Settled) -> Iterator[None]:
    """Empty journals before each test; nothing in flight after it."""
    backends.clear()
    yield
    settled.wait()


def chat_body(model: str, stream: bool) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}


@pytest.mark.parametrize("model", [SLOW, SLOW_OLLAMA])
def test_client_leaving_mid_stream_cancels_the_upstream_stream(
    router: RouterThread, backends: Backends, settled: Settled, model: str
) -> None:
    upstream = backends.slow if model == SLOW else backends.ollama
    with (
        httpx.Client(base_url=router.url, timeout=10) as client,
        client.stream("POST", "/v1/chat/completions", json=chat_body(model, True)) as resp,
    ):
        assert resp.status_code == 200
        # Keep the iterator: dropping it would already close the connection.
        chunks = resp.iter_raw()
        assert next(chunks).startswith(b"data: {")
        assert settled.inflight()[f"{model}@{upstream.url}"] == 1
        assert upstream.journal.last.finished is False
        # Leaving the block with the body unread closes the connection.
    upstream.journal.wait_until(lambda j: j.disconnected == 1)
    entry = upstream.journal.last
    assert not entry.completed
    assert entry.json["model"] == model
    settled.wait()


def test_client_giving_up_on_a_slow_answer_cancels_the_upstream_request(
    router: RouterThread, backends: Backends, settled: Settled
) -> None:
    timeout = httpx.Timeout(10, read=0.3)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            router.url + "/v1/chat/completions", json=chat_body(STALLED, False), timeout=timeout
        )
    backends.slow.journal.wait_until(lambda j: j.disconnected == 1)
    assert backends.slow.journal.received == 1
    settled.wait()


async def _stream_text(client: httpx.AsyncClient) -> str:
    """The content of one streamed chat completion, checking it ends with [DONE]."""
    async with client.stream("POST", "/v1/chat/completions", json=chat_body(MANY, True)) as resp:
        assert resp.status_code == 200
        raw = b"".join([chunk async for chunk in resp.aiter_raw()])
    *events, done = raw.removesuffix(b"\n\n").split(b"\n\n")
    assert done == b"data: [DONE]"
    text = []
    for event in events:
        chunk = orjson.loads(event.removeprefix(b"data: "))
        text.append(chunk["choices"][0]["delta"].get("content") or "")
    return "".join(text)


async def test_many_concurrent_streams_all_complete(
    router: RouterThread, backends: Backends, settled: Settled
) -> None:
    count = 50
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=router.url, timeout=10, limits=limits) as client:
        texts = await asyncio.gather(*(_stream_text(client) for _ in range(count)))
    assert texts == [QUICK.reply().text] * count
    # Round-robin spread them evenly; every upstream stream ran to its end.
    for sim in (backends.a, backends.b):
        sim.journal.wait_until(lambda j: j.completed + j.disconnected == 25)
        assert (sim.journal.completed, sim.journal.disconnected) == (25, 0)
    settled.wait()
