"""Retries and fallbacks through the real router, over loopback: a failed try moves to another
instance only before any byte reached the client and only within the retry budget; when a
model's instances all failed, its fallback models answer, then a cached or static answer.

Each backend's fault is switched by the test while the backend runs (`Fault.hook`). Breakers,
active probes and outlier ejection are off unless a test needs them, so only retries and
fallbacks decide where a request goes.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import openai
import orjson
import pytest
from aiohttp import web

from jairouter.config.models import Config
from jairouter.simulate import Call, ServerThread, SimSettings, openai_app
from tests.routers import RouterThread, serving

MODEL = "m"
PRIMARY = "primary"
SECONDARY = "secondary"
EMBED = "embed"
SORRY = "The assistant is busy right now; please try again in a minute."
REPLY_TOKENS = 4
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
OFF = {
    "circuit_breaker": {"enabled": False},
    "health_check": {"enabled": False, "outlier": {"enabled": False}},
}
FIRST_EVENTS = b'data: {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}\n\n'


class Fault:
    """What a backend does to POST requests, switched by the test while it runs."""

    def __init__(self) -> None:
        self.status: int | None = None  # answer with this status instead
        self.headers: dict[str, str] = {}  # ... and these headers
        self.cut_stream = False  # start a 200 stream, then drop the connection

    async def hook(self, call: Call) -> web.StreamResponse | None:
        if call.request.method != "POST":
            return None
        if self.status is not None:
            body = {"error": {"message": f"injected {self.status}", "type": "injected"}}
            return web.json_response(body, status=self.status, headers=self.headers)
        if self.cut_stream:
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            response.enable_chunked_encoding()
            await response.prepare(call.request)
            await response.write(FIRST_EVENTS)
            transport = call.request.transport
            assert transport is not None
            transport.close()
            return response
        return None


@contextmanager
def backend(*models: str) -> Iterator[tuple[ServerThread, Fault]]:
    fault = Fault()
    settings = SimSettings(
        models=models or (MODEL,), token_delay=0, reply_tokens=REPLY_TOKENS, hook=fault.hook
    )
    with ServerThread(openai_app(settings)) as sim:
        yield sim, fault


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A URL whose port refuses connections: bound (so nobody else takes it), not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def chat_config(*urls: str, retry: dict[str, Any] | None = None, **service: Any) -> Config:
    return Config.model_validate(
        {
            "services": {
                "chat": {
                    **OFF,
                    "retry": {"backoff_base": 0, **(retry or {})},
                    "instances": [{"model": MODEL, "url": url} for url in urls],
                    **service,
                }
            }
        }
    )


def chat(client: httpx.Client, body: dict[str, Any] = CHAT) -> httpx.Response:
    return client.post("/v1/chat/completions", json=body)


# -- retries ------------------------------------------------------------------------------------


def test_refused_connections_are_retried_on_the_other_instance(refused_url: str) -> None:
    with backend() as (sim, _), serving(chat_config(refused_url, sim.url)) as (_, client):
        answers = [chat(client, {**CHAT, "stream": i % 2 == 1}) for i in range(10)]
        assert [resp.status_code for resp in answers] == [200] * 10
        assert sim.journal.received == 10
        assert answers[1].content.endswith(b"data: [DONE]\n\n")


def test_server_errors_are_retried_on_the_other_instance() -> None:
    with backend() as (bad, fault), backend() as (good, _):
        fault.status = 503
        with serving(chat_config(bad.url, good.url)) as (_, client):
            assert [chat(client).status_code for _ in range(6)] == [200] * 6
        assert good.journal.received == 6
        assert bad.journal.received == 3  # round-robin sent it every other request


def test_a_stream_cut_midway_is_not_retried() -> None:
    with backend() as (cut, fault), backend() as (good, _):
        fault.cut_stream = True
        with serving(chat_config(cut.url, good.url)) as (_, client):
            bodies = [chat(client, {**CHAT, "stream": True}).content for _ in range(2)]
        # Round-robin sent one stream to each; the cut one was not tried again elsewhere.
        assert (cut.journal.received, good.journal.received) == (1, 1)
        (broken,) = [body for body in bodies if body.startswith(FIRST_EVENTS)]
        *_, last = broken.removesuffix(b"\n\n").split(b"\n\n")
        error = orjson.loads(last.removeprefix(b"data: "))["error"]
        assert (error["type"], error["code"]) == ("upstream_error", "upstream_bad_response")
        assert "failed mid-stream" in error["message"]


def test_no_retries_beyond_an_empty_budget() -> None:
    retry = {"attempts": 3, "budget_percent": 0, "min_per_second": 0}
    with backend() as (a, fault_a), backend() as (b, fault_b):
        fault_a.status = fault_b.status = 500
        with serving(chat_config(a.url, b.url, retry=retry)) as (_, client):
            assert [chat(client).status_code for _ in range(6)] == [500] * 6
        assert a.journal.received + b.journal.received == 6


def test_retries_stay_within_the_budget() -> None:
    """A 50% budget with no floor: over ten failing requests, five retries at most."""
    retry = {"attempts": 2, "budget_percent": 50, "min_per_second": 0}
    with backend() as (a, fault_a), backend() as (b, fault_b):
        fault_a.status = fault_b.status = 500
        with serving(chat_config(a.url, b.url, retry=retry)) as (_, client):
            assert [chat(client).status_code for _ in range(10)] == [500] * 10
        assert a.journal.received + b.journal.received == 15


def test_retry_after_within_backoff_max_is_waited_for() -> None:
    retry = {"backoff_max": 2}
    with backend() as (busy, fault), backend() as (good, _):
        fault.status = 429
        fault.headers = {"Retry-After": "1"}
        with serving(chat_config(busy.url, good.url, retry=retry)) as (_, client):
            started = time.monotonic()
            resp = chat(client)  # round-robin: the busy instance first
            elapsed = time.monotonic() - started
        assert resp.status_code == 200, resp.text
        assert (busy.journal.received, good.journal.received) == (1, 1)
        assert elapsed >= 1.0


def test_retry_after_beyond_backoff_max_is_not_retried() -> None:
    retry = {"backoff_max": 0.5}
    with backend() as (busy, fault), backend() as (good, _):
        fault.status = 429
        fault.headers = {"Retry-After": "30"}
        with serving(chat_config(busy.url, good.url, retry=retry)) as (_, client):
            started = time.monotonic()
            resp = chat(client)
            elapsed = time.monotonic() - started
        # The upstream's own answer, relayed at once, Retry-After included.
        assert resp.status_code == 429
        assert resp.json()["error"]["message"] == "injected 429"
        assert resp.headers["retry-after"] == "30"
        assert (busy.journal.received, good.journal.received) == (1, 0)
        assert elapsed < 0.5


# -- fallback models ----------------------------------------------------------------------------


def fallback_config(primary: list[str], secondary: str, **fallback: Any) -> Config:
    instances = [{"model": PRIMARY, "url": url} for url in primary]
    return Config.model_validate(
        {
            "services": {
                "chat": {
                    **OFF,
                    "retry": {"backoff_base": 0},
                    "fallback": {"models": {PRIMARY: [SECONDARY]}, **fallback},
                    "instances": [*instances, {"model": SECONDARY, "url": secondary}],
                }
            }
        }
    )


@pytest.mark.parametrize("stream", [False, True])
def test_the_fallback_model_answers_when_the_primary_fails(refused_url: str, stream: bool) -> None:
    with backend(PRIMARY) as (bad, fault), backend(SECONDARY) as (second, _):
        fault.status = 500
        cfg = fallback_config([bad.url, refused_url], second.url)
        with serving(cfg) as (_, client):
            resp = chat(client, {**CHAT, "model": PRIMARY, "stream": stream})
            assert resp.status_code == 200, resp.text
            assert resp.headers["x-jairouter-model"] == SECONDARY
            assert "x-jairouter-fallback" not in resp.headers
            if stream:
                assert resp.content.endswith(b"data: [DONE]\n\n")
            else:
                assert resp.json()["model"] == SECONDARY
        assert bad.journal.received == 1
        assert second.journal.last.json["model"] == SECONDARY


def test_the_primary_answers_while_it_can() -> None:
    with backend(PRIMARY) as (first, _), backend(SECONDARY) as (second, _):
        with serving(fallback_config([first.url], second.url)) as (_, client):
            resp = chat(client, {**CHAT, "model": PRIMARY})
        assert resp.headers["x-jairouter-model"] == PRIMARY
        assert second.journal.received == 0


# -- static answer ------------------------------------------------------------------------------


def sdk(router: RouterThread) -> openai.OpenAI:
    """The official client, pointed at the router; it must parse whatever the router answers."""
    return openai.OpenAI(base_url=router.url + "/v1", api_key="k", max_retries=0)


@pytest.fixture
def static_router(refused_url: str) -> Iterator[RouterThread]:
    with backend(PRIMARY) as (bad, fault), backend(SECONDARY) as (second, fault2):
        fault.status = fault2.status = 503
        cfg = fallback_config([bad.url, refused_url], second.url, static_response=SORRY)
        with serving(cfg) as (router, _):
            yield router


def test_static_answer_when_everything_fails(static_router: RouterThread) -> None:
    with sdk(static_router) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=PRIMARY, messages=[{"role": "user", "content": "hi"}]
        )
        completion = raw.parse()
    assert raw.headers["x-jairouter-fallback"] == "static"
    assert raw.headers["x-jairouter-model"] == "fallback"
    assert completion.choices[0].message.content == SORRY
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "fallback"


def test_static_answer_streams_when_asked(static_router: RouterThread) -> None:
    with sdk(static_router) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=PRIMARY, messages=[{"role": "user", "content": "hi"}], stream=True
        )
        chunks = list(raw.parse())
    assert raw.headers["x-jairouter-fallback"] == "static"
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == SORRY
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_static_answer_for_completions(refused_url: str) -> None:
    cfg = Config.model_validate(
        {
            "services": {
                "completion": {
                    **OFF,
                    "fallback": {"static_response": SORRY},
                    "instances": [{"model": MODEL, "url": refused_url}],
                }
            }
        }
    )
    with serving(cfg) as (router, _), sdk(router) as client:
        completion = client.completions.create(model=MODEL, prompt="hi")
    assert completion.choices[0].text == SORRY


# -- cached answer ------------------------------------------------------------------------------


def embed_config(url: str, **cache: Any) -> Config:
    return Config.model_validate(
        {
            "services": {
                "embedding": {
                    **OFF,
                    "fallback": {"cache": {"ttl": 60, **cache}},
                    "instances": [{"model": EMBED, "url": url}],
                }
            }
        }
    )


def embed(client: httpx.Client, text: str) -> httpx.Response:
    return client.post("/v1/embeddings", json={"model": EMBED, "input": text})


def test_a_failing_backend_is_covered_by_the_cached_answer() -> None:
    with backend(EMBED) as (sim, fault), serving(embed_config(sim.url)) as (_, client):
        fresh = embed(client, "hello")
        assert fresh.status_code == 200
        assert "x-jairouter-fallback" not in fresh.headers
        fault.status = 500
        cached = embed(client, "hello")
        assert cached.status_code == 200
        assert cached.headers["x-jairouter-fallback"] == "cache"
        assert cached.headers["x-jairouter-model"] == EMBED
        assert cached.json() == fresh.json()
        # A request never answered before has nothing to fall back on: the upstream's error.
        other = embed(client, "goodbye")
        assert other.status_code == 500
        assert other.json()["error"]["message"] == "injected 500"
        assert sim.journal.received == 3


def test_a_closed_backend_is_covered_by_the_cached_answer() -> None:
    with ExitStack() as running:
        sim, _ = running.enter_context(backend(EMBED))
        with serving(embed_config(sim.url)) as (_, client):
            fresh = embed(client, "hello")
            assert fresh.status_code == 200
            running.close()  # the backend goes away
            cached = embed(client, "hello")
            assert cached.status_code == 200, cached.text
            assert cached.headers["x-jairouter-fallback"] == "cache"
            assert cached.content == fresh.content
            other = embed(client, "goodbye")
            assert other.status_code == 502
            assert other.json()["error"]["code"] == "upstream_unreachable"


def test_answers_larger_than_max_body_size_are_not_cached() -> None:
    with (
        backend(EMBED) as (sim, fault),
        serving(embed_config(sim.url, max_body_size=100)) as (_, client),
    ):
        fresh = embed(client, "hello")
        assert fresh.status_code == 200
        assert len(fresh.content) > 100
        fault.status = 500
        assert embed(client, "hello").status_code == 500


def test_an_answer_from_the_fallback_model_is_cached_for_the_request() -> None:
    with backend(PRIMARY) as (first, fault1), backend(SECONDARY) as (second, fault2):
        fault1.status = 500
        cfg = Config.model_validate(
            {
                "services": {
                    "embedding": {
                        **OFF,
                        "fallback": {"models": {PRIMARY: [SECONDARY]}, "cache": {}},
                        "instances": [
                            {"model": PRIMARY, "url": first.url},
                            {"model": SECONDARY, "url": second.url},
                        ],
                    }
                }
            }
        )
        with serving(cfg) as (_, client):
            body = {"model": PRIMARY, "input": "hello"}
            fresh = client.post("/v1/embeddings", json=body)
            assert fresh.headers["x-jairouter-model"] == SECONDARY
            fault2.status = 500
            cached = client.post("/v1/embeddings", json=body)
            assert cached.status_code == 200, cached.text
            assert cached.headers["x-jairouter-fallback"] == "cache"
            assert cached.content == fresh.content
