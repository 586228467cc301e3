"""Circuit breakers through the real router, over loopback: what opens a circuit, what traffic
does while it is open, and how a half-open trial closes it again.

Each backend's fault is switched by the test while the backend runs (`Fault.hook`). Active
probes and outlier ejection are off, so only the breaker takes instances out of rotation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web

from jairouter.config.models import Config
from jairouter.core.breaker import State
from jairouter.simulate import Call, ServerThread, SimSettings, openai_app
from tests.routers import RouterThread
from tests.routers import serving as serving_router

MODEL = "m"
OPEN_FOR = 0.3
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
STREAM = {**CHAT, "stream": True}
ERROR_EVENT = b'data: {"error": {"message": "model crashed", "type": "server_error"}}\n\n'
TOKEN_EVENT = b'data: {"choices": [{"index": 0, "delta": {"content": "an error"}}]}\n\n'
DONE_EVENT = b"data: [DONE]\n\n"


class Fault:
    """What a backend does to chat requests, switched by the test while it runs."""

    def __init__(self) -> None:
        self.status: int | None = None  # answer with this status instead
        self.error_event = False  # answer 200 with an SSE error event
        self.tokens_first = 0  # token events sent, each on its own, before the error event
        self.stall = False  # never answer (until the router hangs up)

    async def hook(self, call: Call) -> web.StreamResponse | None:
        if call.request.method != "POST":
            return None
        if self.stall:
            await asyncio.Event().wait()  # cancelled when the router closes the connection
        if self.status is not None:
            body = {"error": {"message": f"injected {self.status}", "type": "injected"}}
            return web.json_response(body, status=self.status)
        if self.error_event:
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(call.request)
            if not self.tokens_first:
                await response.write(ERROR_EVENT + b"data: [DONE]\n\n")
            else:  # as a server that fails midway: tokens, the error event, `[DONE]`, apart
                for event in [TOKEN_EVENT] * self.tokens_first + [ERROR_EVENT, DONE_EVENT]:
                    await response.write(event)
                    await asyncio.sleep(0.01)
            await response.write_eof()
            return response
        return None


@contextmanager
def backend() -> Iterator[tuple[ServerThread, Fault]]:
    fault = Fault()
    settings = SimSettings(models=(MODEL,), token_delay=0, reply_tokens=4, hook=fault.hook)
    with ServerThread(openai_app(settings)) as sim:
        yield sim, fault


def config(*urls: str, retry: int = 1, **breaker: Any) -> Config:
    return Config.model_validate(
        {
            "services": {
                "chat": {
                    "circuit_breaker": {
                        "consecutive_failures": 2,
                        "failure_rate_threshold": 0,
                        "open_duration": OPEN_FOR,
                        "success_threshold": 1,
                        **breaker,
                    },
                    "health_check": {"enabled": False, "outlier": {"enabled": False}},
                    "retry": {"attempts": retry, "backoff_base": 0},
                    "instances": [{"model": MODEL, "url": url} for url in urls],
                }
            }
        }
    )


@contextmanager
def serving(cfg: Config) -> Iterator[tuple[RouterThread, httpx.Client]]:
    """The router for `cfg`; on a clean exit, nothing in flight and no trial left unsettled."""
    with serving_router(cfg) as (router, client):
        yield router, client
        for target in router.router.routes.targets():
            assert target.breaker.snapshot().trials_in_flight == 0, target.label


def state(router: RouterThread, url: str) -> State:
    (target,) = [t for t in router.router.routes.targets() if t.config.url == url]
    return target.breaker.state


def chat(client: httpx.Client, body: dict[str, Any] = CHAT) -> httpx.Response:
    return client.post("/v1/chat/completions", json=body)


def assert_circuit_open(resp: httpx.Response, url: str) -> None:
    assert resp.status_code == 503, resp.text
    error = resp.json()["error"]
    assert (error["type"], error["code"]) == ("service_unavailable", "no_instance_available")
    assert f"{MODEL}@{url} (circuit open for" in error["message"]


def test_server_errors_open_the_circuit_and_a_trial_closes_it() -> None:
    with backend() as (sim, fault), serving(config(sim.url)) as (router, client):
        fault.status = 500
        assert [chat(client).status_code for _ in range(2)] == [500, 500]
        assert state(router, sim.url) is State.OPEN
        assert_circuit_open(chat(client), sim.url)
        assert sim.journal.received == 2  # the open circuit kept the third from the backend

        fault.status = None
        time.sleep(OPEN_FOR)  # let the circuit's open duration pass
        assert state(router, sim.url) is State.HALF_OPEN
        resp = chat(client)  # the trial
        assert resp.status_code == 200, resp.text
        assert state(router, sim.url) is State.CLOSED
        assert [chat(client).status_code for _ in range(3)] == [200] * 3
        assert sim.journal.received == 6


def test_a_failed_trial_reopens_the_circuit() -> None:
    with backend() as (sim, fault), serving(config(sim.url)) as (router, client):
        fault.status = 502
        for _ in range(2):
            chat(client)
        time.sleep(OPEN_FOR)
        assert chat(client).status_code == 502  # the trial, failed
        assert state(router, sim.url) is State.OPEN
        assert_circuit_open(chat(client), sim.url)
        assert sim.journal.received == 3


def test_traffic_shifts_to_the_healthy_instance_and_returns_after_the_trial() -> None:
    with (
        backend() as (bad, fault),
        backend() as (good, _),
        serving(config(bad.url, good.url, retry=2)) as (router, client),
    ):
        fault.status = 500
        # Every client request succeeds: the retries on the healthy instance cover the failures.
        assert [chat(client).status_code for _ in range(10)] == [200] * 10
        assert state(router, bad.url) is State.OPEN
        assert bad.journal.received == 2
        assert good.journal.received == 10

        fault.status = None
        time.sleep(OPEN_FOR)
        assert [chat(client).status_code for _ in range(4)] == [200] * 4
        assert state(router, bad.url) is State.CLOSED
        assert bad.journal.received == 4  # the trial and one in two afterwards (round-robin)


def test_upstream_429_counts_as_a_failure() -> None:
    with backend() as (sim, fault), serving(config(sim.url)) as (router, client):
        fault.status = 429
        first, second = chat(client), chat(client)
        # The upstream's own 429s are relayed as they were...
        assert (first.status_code, second.status_code) == (429, 429)
        assert first.json()["error"]["message"] == "injected 429"
        # ...and opened the circuit.
        assert state(router, sim.url) is State.OPEN
        assert_circuit_open(chat(client), sim.url)


def test_client_errors_do_not_count() -> None:
    with backend() as (sim, fault), serving(config(sim.url)) as (router, client):
        fault.status = 400
        assert [chat(client).status_code for _ in range(5)] == [400] * 5
        assert state(router, sim.url) is State.CLOSED
        assert sim.journal.received == 5


@pytest.mark.parametrize("tokens_first", [0, 3])
def test_an_error_event_inside_a_200_stream_counts(tokens_first: int) -> None:
    with backend() as (sim, fault), serving(config(sim.url)) as (router, client):
        fault.error_event = True
        fault.tokens_first = tokens_first
        for _ in range(2):
            resp = chat(client, STREAM)
            assert resp.status_code == 200
            assert resp.content == TOKEN_EVENT * tokens_first + ERROR_EVENT + DONE_EVENT
        assert state(router, sim.url) is State.OPEN
        assert_circuit_open(chat(client, STREAM), sim.url)
        assert sim.journal.received == 2


def test_a_stream_that_ends_well_does_not_count() -> None:
    with backend() as (sim, _), serving(config(sim.url)) as (router, client):
        for _ in range(3):
            resp = chat(client, STREAM)
            assert resp.status_code == 200
            assert resp.content.endswith(b"data: [DONE]\n\n")
            assert b'"error"' not in resp.content
        assert state(router, sim.url) is State.CLOSED


async def test_a_trial_whose_client_left_frees_its_slot() -> None:
    """While half-open, one trial at a time; a trial abandoned by its client is no verdict and
    lets the next request be the trial."""
    with backend() as (sim, fault), serving(config(sim.url)) as (router, client):
        fault.status = 500
        for _ in range(2):
            chat(client)
        fault.status = None
        fault.stall = True
        await asyncio.sleep(OPEN_FOR)  # let the circuit's open duration pass
        async with httpx.AsyncClient(base_url=router.url, timeout=10) as aclient:
            trial = asyncio.create_task(aclient.post("/v1/chat/completions", json=CHAT))
            async with asyncio.timeout(5):
                await sim.journal.wait_until_async(lambda j: j.received == 3)
            refused = await aclient.post("/v1/chat/completions", json=CHAT)
            assert refused.status_code == 503
            assert (
                "circuit half-open, 1 trial requests in flight"
                in refused.json()["error"]["message"]
            )
            trial.cancel()  # the client hangs up on the trial
            with suppress(asyncio.CancelledError):
                await trial
        async with asyncio.timeout(5):
            await sim.journal.wait_until_async(lambda j: j.disconnected == 1)
        fault.stall = False
        resp = chat(client)  # the next trial
        assert resp.status_code == 200, resp.text
        assert orjson.loads(resp.content)["choices"][0]["message"]["content"]
        assert state(router, sim.url) is State.CLOSED


@pytest.mark.parametrize("failures", [1, 3])
def test_consecutive_failures_is_the_threshold(failures: int) -> None:
    with backend() as (sim, fault):
        cfg = config(sim.url, consecutive_failures=failures)
        with serving(cfg) as (router, client):
            fault.status = 503
            for _ in range(failures - 1):
                chat(client)
                assert state(router, sim.url) is State.CLOSED
            chat(client)
            assert state(router, sim.url) is State.OPEN
