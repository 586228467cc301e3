"""GET /admin/status/stream over real loopback: events carry the snapshot, watchers share
snapshots, and a stream ends when its client leaves or the server drains."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from jairouter.config.models import Config
from jairouter.server.status_stream import StatusFeed
from jairouter.simulate import ServerThread, SimSettings, openai_app
from tests.routers import RouterThread, run_router

FAST = SimSettings(models=("m",), token_delay=0.0, reply_tokens=3)
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def router() -> Iterator[RouterThread]:
    with ServerThread(openai_app(FAST)) as sim:
        config = {
            "services": {
                "chat": {
                    "load_balance": "least-connections",
                    "instances": [{"model": "m", "url": sim.url}],
                }
            }
        }
        with run_router(Config.model_validate(config)) as router:
            yield router


def events(lines: Iterator[str], count: int) -> Iterator[dict[str, Any]]:
    """The next `count` events' snapshots, read as they come."""
    for line in lines:
        if line.startswith("data: "):
            yield orjson.loads(line.removeprefix("data: "))
            count -= 1
            if count == 0:
                return


def test_events_carry_the_status_snapshot(router: RouterThread) -> None:
    with httpx.Client(base_url=router.url, timeout=10) as client:
        url = "/admin/status/stream?interval=0.1"
        with client.stream("GET", url) as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            lines = answer.iter_lines()
            first, _ = list(events(lines, 2))
            assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
            for event in events(lines, 50):
                services = event["services"]
                assert isinstance(services, dict)
                if services["chat"][0]["requests"] == 1:
                    break
            else:
                pytest.fail("no event showed the request")
    assert first["service_state"] == {
        "chat": {"load_balance": "least-connections", "rate_limited": 0, "disabled": []}
    }
    assert first["version"]


@pytest.mark.parametrize("interval", ["0", "fast", "61", "nan"])
def test_a_bad_interval_is_a_400_that_says_what_to_send(
    router: RouterThread, interval: str
) -> None:
    answer = httpx.get(f"{router.url}/admin/status/stream?interval={interval}", timeout=10)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_interval"
    assert "0.1 to 60" in error["message"]


def test_a_client_leaving_ends_its_stream(router: RouterThread) -> None:
    with (
        httpx.Client(base_url=router.url, timeout=10) as client,
        client.stream("GET", "/admin/status/stream?interval=0.1") as answer,
    ):
        lines = answer.iter_lines()  # kept: dropping it would close the stream early
        next(events(lines, 1))
        assert router.server.server_state.connections
    # the connection is gone on the server side too: nothing keeps writing to it
    deadline = time.monotonic() + 10
    while router.server.server_state.connections and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not router.server.server_state.connections


def test_server_drain_ends_open_streams() -> None:
    """With a stream open, shutdown completes at once (not after uvicorn's 30 s drain), and
    the client sees the stream end cleanly."""
    with ServerThread(openai_app(FAST)) as sim:
        config = Config.model_validate(
            {"services": {"chat": {"instances": [{"model": "m", "url": sim.url}]}}}
        )
        with run_router(config) as router, httpx.Client(base_url=router.url, timeout=10) as client:
            with client.stream("GET", "/admin/status/stream?interval=60") as answer:
                lines = answer.iter_lines()
                next(events(lines, 1))
                stopped = threading.Thread(
                    target=lambda: setattr(router.server, "should_exit", True)
                )
                stopped.start()
                rest = list(lines)  # returns once the server ends the stream
                stopped.join()
            assert not any(line.startswith("data: ") for line in rest)
            assert router.router.draining.is_set()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_watchers_share_one_snapshot_per_interval() -> None:
    clock, builds = Clock(), []

    async def build() -> dict[str, int]:
        builds.append(clock.now)
        await asyncio.sleep(0)  # as when asking sibling workers: others wait, then share it
        return {"n": len(builds)}

    feed = StatusFeed(build, asyncio.Event(), clock)
    for now in (0.0, 0.3, 0.99, 1.0, 1.5, 2.2):
        clock.now = now
        answers = await asyncio.gather(*(feed.current(1.0) for _watcher in range(20)))
        assert {orjson.loads(answer)["n"] for answer in answers} == {len(builds)}
    assert builds == [0.0, 1.0, 2.2]


async def ok() -> dict[str, bool]:
    return {"ok": True}


async def test_a_stream_ends_when_draining_begins() -> None:
    draining = asyncio.Event()
    feed = StatusFeed(ok, draining)
    stream = feed.events(60.0)
    assert (await anext(stream)).startswith(b"retry: ")
    assert await anext(stream) == b'data: {"ok":true}\n\n'
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    draining.set()
    with pytest.raises(StopAsyncIteration):
        await waiting
