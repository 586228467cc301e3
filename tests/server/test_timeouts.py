"""timeouts.idle: an answer that goes silent midway is ended, not waited on forever."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
from aiohttp import web

from jairouter.config.models import Config
from jairouter.simulate import ServerThread
from tests.routers import RouterThread, run_router

EVENT = b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'


async def stalls_after_two_events(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    resp = web.StreamResponse(
        headers={"Content-Type": "text/event-stream" if body.get("stream") else "application/json"}
    )
    await resp.prepare(request)
    await resp.write(EVENT if body.get("stream") else b'{"partial": ')
    await resp.write(EVENT if body.get("stream") else b'"answer')
    await asyncio.sleep(30)  # silent: the router must give up after timeouts.idle
    return resp


@pytest.fixture(scope="module")
def router() -> Iterator[RouterThread]:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", stalls_after_two_events)
    with ServerThread(app) as upstream:
        config = Config.model_validate(
            {
                "services": {
                    "chat": {
                        "timeouts": {"idle": 0.3},
                        "instances": [{"model": "m", "url": upstream.url}],
                    }
                }
            }
        )
        with run_router(config) as served:
            yield served


def test_a_silent_stream_ends_with_an_error_event(router: RouterThread) -> None:
    started = time.monotonic()
    body = {"model": "m", "messages": [], "stream": True}
    answer = httpx.post(router.url + "/v1/chat/completions", json=body, timeout=10)
    took = time.monotonic() - started
    events = [e for e in answer.content.split(b"\n\n") if e]
    assert events[:2] == [EVENT.strip()] * 2
    error = orjson.loads(events[2].removeprefix(b"data: "))["error"]
    assert "went silent" in error["message"]  # timeouts.idle ended it, not the 30 s stall
    assert took >= 0.3  # and never before the silence lasted timeouts.idle


def test_a_silent_whole_answer_breaks_the_connection(router: RouterThread) -> None:
    body = {"model": "m", "messages": []}
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(router.url + "/v1/chat/completions", json=body, timeout=10)


def test_total_timeout_ends_a_stream_midway() -> None:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", stalls_after_two_events)
    with ServerThread(app) as upstream:
        instance = {"model": "m", "url": upstream.url, "timeouts": {"total": 0.4, "idle": 5}}
        config = Config.model_validate({"services": {"chat": {"instances": [instance]}}})
        with run_router(config) as served:
            body = {"model": "m", "messages": [], "stream": True}
            answer = httpx.post(served.url + "/v1/chat/completions", json=body, timeout=10)
    last = answer.content.strip().split(b"\n\n")[-1]
    assert (
        "exceeded timeouts.total" in orjson.loads(last.removeprefix(b"data: "))["error"]["message"]
    )


async def answers_late(request: web.Request) -> web.Response:
    """Headers only after `late` seconds (the model's name), then a whole answer at once."""
    body = await request.json()
    await asyncio.sleep(float(body["model"].removeprefix("late-")))
    return web.json_response({"choices": [{"index": 0, "message": {"content": "done"}}]})


@pytest.fixture(scope="module")
def late_router() -> Iterator[RouterThread]:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", answers_late)
    with ServerThread(app) as upstream:
        instances = [
            # Waiting for headers is bounded by first_byte only, never by idle.
            {"model": "late-0.5", "url": upstream.url, "timeouts": {"idle": 0.1, "first_byte": 5}},
            # total runs out first when it is the shorter one.
            {"model": "late-30", "url": upstream.url, "timeouts": {"first_byte": 60, "total": 0.3}},
        ]
        config = Config.model_validate({"services": {"chat": {"instances": instances}}})
        with run_router(config) as served:
            yield served


def test_silence_before_the_headers_counts_against_first_byte_not_idle(
    late_router: RouterThread,
) -> None:
    body = {"model": "late-0.5", "messages": []}
    answer = httpx.post(late_router.url + "/v1/chat/completions", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "done"


def test_total_timeout_before_the_headers_is_504(late_router: RouterThread) -> None:
    body = {"model": "late-30", "messages": []}
    answer = httpx.post(late_router.url + "/v1/chat/completions", json=body, timeout=10)
    assert answer.status_code == 504
    error = answer.json()["error"]
    assert error["code"] == "upstream_timeout"
    assert error["message"].endswith("exceeded timeouts.total")
