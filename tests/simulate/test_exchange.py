"""What every simulated endpoint shares: the journal, the fault hook, incremental streaming and
noticing a client that goes away."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import httpx
import pytest
from aiohttp import web

from jairouter.simulate import Call, ServerThread, SimSettings, ollama_app, openai_app, start

CHAT = {"model": "sim-model", "messages": [{"role": "user", "content": "hi"}]}


def test_the_journal_records_what_arrived(openai_sim: ServerThread, http: httpx.Client) -> None:
    request = {**CHAT, "model": "sim-chat", "vendor_extra": {"keep": [1, 2]}}
    http.post(
        openai_sim.url + "/v1/chat/completions?trace=1",
        json=request,
        headers={"X-Custom": "yes"},
    )
    entry = openai_sim.journal.last
    assert (entry.method, entry.path, entry.query["trace"]) == ("POST", "/v1/chat/completions", "1")
    assert entry.headers["x-custom"] == "yes"  # header names are case-insensitive
    assert entry.json == request
    assert entry.body.startswith(b"{")
    assert (entry.status, entry.completed, entry.disconnected) == (200, True, False)


def test_unknown_paths_get_the_products_404_and_are_journaled(
    openai_sim: ServerThread, http: httpx.Client
) -> None:
    response = http.post(openai_sim.url + "/v1/unknown")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid URL (POST /v1/unknown)"
    assert openai_sim.journal.last.status == 404


def test_errors_are_journaled_with_their_status(
    openai_sim: ServerThread, http: httpx.Client
) -> None:
    http.post(openai_sim.url + "/v1/chat/completions", json={**CHAT, "model": "nope"})
    assert (openai_sim.journal.last.status, openai_sim.journal.last.completed) == (404, True)


def test_the_hook_can_answer_instead_of_the_product(http: httpx.Client) -> None:
    async def overloaded(call: Call) -> web.StreamResponse | None:
        payload = await call.json()
        if payload.get("model") == "busy":
            return web.json_response({"error": "overloaded"}, status=503)
        return None

    settings = SimSettings(models=("busy", "sim-model"), token_delay=0, hook=overloaded)
    with ServerThread(openai_app(settings)) as sim:
        busy = http.post(sim.url + "/v1/chat/completions", json={**CHAT, "model": "busy"})
        fine = http.post(sim.url + "/v1/chat/completions", json=CHAT)
        assert sim.journal.entries[0].json["model"] == "busy"  # read by the hook, still journaled
    assert (busy.status_code, busy.json()) == (503, {"error": "overloaded"})
    assert fine.status_code == 200


def test_tokens_leave_as_they_are_produced(http: httpx.Client) -> None:
    # Long enough between tokens that the whole answer cannot be sent before the first read.
    settings = SimSettings(token_delay=0.2, reply_tokens=3)
    with (
        ServerThread(openai_app(settings)) as sim,
        http.stream("POST", sim.url + "/v1/chat/completions", json={**CHAT, "stream": True}) as r,
    ):
        lines = r.iter_lines()
        assert next(lines).startswith('data: {"choices":[{"finish_reason":null')
        assert not sim.journal.last.finished  # the server is still generating
        rest = list(lines)
    assert rest[-2:] == ["data: [DONE]", ""]
    assert sim.journal.last.completed


@pytest.mark.parametrize("delay", [0.05, 0.0])
def test_a_client_leaving_mid_stream_is_journaled(http: httpx.Client, delay: float) -> None:
    # With no delay the server only stops when the socket pushes back; a huge reply ensures it.
    settings = SimSettings(token_delay=delay, reply_tokens=100_000)
    with ServerThread(openai_app(settings)) as sim:
        with http.stream(
            "POST", sim.url + "/v1/chat/completions", json={**CHAT, "stream": True}
        ) as response:
            next(response.iter_bytes())
        sim.journal.wait_until(lambda j: j.disconnected == 1)
        entry = sim.journal.last
    assert (entry.disconnected, entry.completed, entry.status) == (True, False, 200)


async def test_a_disconnect_can_be_awaited_inside_the_servers_loop() -> None:
    app = ollama_app(SimSettings(models=("llama3.2",), token_delay=0.05, reply_tokens=1000))
    async with await start(app) as sim, aiohttp.ClientSession() as session:
        request = {"model": "llama3.2", "prompt": "go"}
        async with session.post(sim.url + "/api/generate", json=request) as response:
            assert (await response.content.readline()).startswith(b'{"model":"llama3.2"')
            response.close()  # drop the connection mid-stream
        async with asyncio.timeout(5):
            await sim.journal.wait_until_async(lambda j: j.disconnected == 1)
        assert not sim.journal.last.completed


async def test_closing_the_server_cuts_answers_in_flight() -> None:
    sim = await start(openai_app(SimSettings(token_delay=0.05, reply_tokens=1000)))
    async with aiohttp.ClientSession() as session:
        request = {**CHAT, "stream": True}
        async with session.post(sim.url + "/v1/chat/completions", json=request) as response:
            await response.content.readline()
            await sim.close()
            with contextlib.suppress(aiohttp.ClientError):
                await response.read()
    assert sim.journal.last.disconnected
