"""Rate limits through the real router, over loopback: who gets a 429, what it and the allowed
answers say in their X-RateLimit-* headers, and that every permit is given back.

Rate limits here refill at RATE_TINY per second, so nothing refills while a test runs and the
counts are exact.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, NamedTuple

import httpx
import orjson
import pytest

from jairouter.config.models import Config
from jairouter.core.limits import estimate_tokens
from jairouter.simulate import ServerThread, SimSettings, openai_app
from tests.routers import RouterThread, Settled, run_router

MODEL = "m"
RATE_TINY = 0.001
REPLY_TOKENS = 6
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
STREAM = {**CHAT, "stream": True}
FAST = SimSettings(models=(MODEL,), token_delay=0, reply_tokens=REPLY_TOKENS)
# Streams of 40 tokens, one every 50 ms: two seconds, far longer than a test holds them.
SLOW = SimSettings(models=(MODEL,), token_delay=0.05, reply_tokens=40)


def bucket(capacity: int, **extra: Any) -> dict[str, Any]:
    return {"algorithm": "token-bucket", "capacity": capacity, "rate": RATE_TINY, **extra}


def config(*urls: str, rate_limit: Any = None, **server: Any) -> Config:
    return Config.model_validate(
        {
            "server": server,
            "services": {
                "chat": {
                    "rate_limit": rate_limit,
                    "instances": [{"model": MODEL, "url": url} for url in urls],
                }
            },
        }
    )


class Served(NamedTuple):
    router: RouterThread
    client: httpx.Client
    settled: Settled


@contextmanager
def serving(cfg: Config) -> Iterator[Served]:
    """The router for `cfg`; on a clean exit, nothing in flight and no instance permit held."""
    with run_router(cfg) as router, httpx.Client(base_url=router.url, timeout=10) as client:
        settled = Settled(router)
        yield Served(router, client, settled)
        settled.wait()
        for target in router.router.routes.targets():
            held = [limit.limiter(instance=target.key).held for limit in target.limits]
            assert not any(held), target.label


@pytest.fixture(scope="module")
def fast() -> Iterator[ServerThread]:
    with ServerThread(openai_app(FAST)) as sim:
        yield sim


@pytest.fixture
def sim(fast: ServerThread) -> ServerThread:
    fast.journal.clear()
    return fast


def chat(
    client: httpx.Client, body: dict[str, Any] = CHAT, forwarded_for: str | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post("/v1/chat/completions", json=body, headers=headers)


def limit_headers(resp: httpx.Response, suffix: str = "") -> tuple[int, int, int]:
    """X-RateLimit-Limit, -Remaining and -Reset (`suffix` "-tokens": a token limit's)."""
    names = (f"x-ratelimit-{field}{suffix}" for field in ("limit", "remaining", "reset"))
    limit, remaining, reset = (int(resp.headers[name]) for name in names)
    return limit, remaining, reset


def assert_limited(resp: httpx.Response, *limits: int, suffix: str = "") -> str:
    """A 429 with an OpenAI error body and the rate-limit headers of one of `limits`; returns
    its message."""
    assert resp.status_code == 429, resp.text
    error = resp.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_exceeded", "rate_limit_exceeded")
    assert int(resp.headers["retry-after"]) >= 1
    limit, remaining, reset = limit_headers(resp, suffix)
    assert limit in limits
    assert remaining == 0
    assert reset >= 1
    message: str = error["message"]
    return message


# -- request limits -----------------------------------------------------------------------------


async def test_a_burst_gets_exactly_the_bucket_and_the_rest_429(sim: ServerThread) -> None:
    callers = 30
    with serving(config(sim.url, rate_limit=bucket(10))) as served:
        limits = httpx.Limits(max_connections=callers)
        async with httpx.AsyncClient(
            base_url=served.router.url, timeout=10, limits=limits
        ) as client:
            answers = await asyncio.gather(
                *(client.post("/v1/chat/completions", json=CHAT) for _ in range(callers))
            )
    passed = [resp for resp in answers if resp.status_code == 200]
    refused = [resp for resp in answers if resp.status_code != 200]
    assert len(passed) == 10
    assert sim.journal.received == 10
    for resp in refused:
        assert "rate limit of 10 requests reached" in assert_limited(resp, 10)
    # Each allowed answer says how many were left after it: every count from 9 down to 0 once.
    assert sorted(limit_headers(resp)[1] for resp in passed) == list(range(10))
    assert all(limit_headers(resp)[0] == 10 for resp in passed)


def test_allowed_answers_count_down_remaining(sim: ServerThread) -> None:
    with serving(config(sim.url, rate_limit=bucket(3))) as (_, client, _):
        answers = [chat(client, STREAM if i % 2 else CHAT) for i in range(3)]
        assert [resp.status_code for resp in answers] == [200] * 3
        assert [limit_headers(resp)[:2] for resp in answers] == [(3, 2), (3, 1), (3, 0)]
        # Remaining falls, so the time until the bucket is full again grows.
        resets = [limit_headers(resp)[2] for resp in answers]
        assert resets == sorted(resets)
        assert resets[0] >= 1
        assert_limited(chat(client), 3)


def test_each_client_has_its_own_budget(sim: ServerThread) -> None:
    limit = bucket(2, scope="client")
    cfg = config(sim.url, rate_limit=limit, trusted_proxies=["127.0.0.1/32"])
    with serving(cfg) as (_, client, _):

        def statuses(address: str) -> list[int]:
            return [chat(client, forwarded_for=address).status_code for _ in range(3)]

        assert statuses("10.0.0.1") == [200, 200, 429]
        assert statuses("10.0.0.2") == [200, 200, 429]
        # A request without the header is the proxy's own, with a budget of its own too.
        assert chat(client).status_code == 200
        assert chat(client, forwarded_for="10.0.0.1").status_code == 429
        assert sim.journal.received == 5


def test_a_service_limit_applies_to_its_service_only(sim: ServerThread) -> None:
    cfg = Config.model_validate(
        {
            "services": {
                "chat": {"rate_limit": bucket(1), "instances": [{"model": MODEL, "url": sim.url}]},
                "embedding": {"instances": [{"model": MODEL, "url": sim.url}]},
            }
        }
    )
    with serving(cfg) as (_, client, _):
        assert chat(client).status_code == 200
        assert_limited(chat(client), 1)
        for _ in range(3):
            resp = client.post("/v1/embeddings", json={"model": MODEL, "input": "x"})
            assert resp.status_code == 200
            assert "x-ratelimit-limit" not in resp.headers


# -- concurrency --------------------------------------------------------------------------------


def test_a_concurrency_limit_counts_open_streams_and_frees_them_on_disconnect() -> None:
    limit = {"algorithm": "concurrency", "max_concurrent": 2}
    with (
        ServerThread(openai_app(SLOW)) as slow,
        serving(config(slow.url, rate_limit=limit)) as (_, client, settled),
        ExitStack() as streams,
    ):
        reading = []  # kept: dropping a body iterator would already close its connection
        for expected in (1, 0):
            resp = streams.enter_context(client.stream("POST", "/v1/chat/completions", json=STREAM))
            assert resp.status_code == 200
            assert limit_headers(resp)[:2] == (2, expected)
            reading.append(resp.iter_raw())
            assert next(reading[-1]).startswith(b"data: ")
        assert "rate limit of 2 requests reached" in assert_limited(chat(client), 2)

        streams.close()  # both clients hang up mid-stream
        slow.journal.wait_until(lambda j: j.disconnected == 2)
        settled.wait()
        short = {**CHAT, "max_tokens": 1}
        answers = [chat(client, short) for _ in range(3)]
        assert [resp.status_code for resp in answers] == [200] * 3
        assert [limit_headers(resp)[1] for resp in answers] == [1, 1, 1]


# -- instance limits ----------------------------------------------------------------------------


def test_an_instance_limit_sends_traffic_to_the_other_instance() -> None:
    with ServerThread(openai_app(FAST)) as a, ServerThread(openai_app(FAST)) as b:
        instances = [
            {"model": MODEL, "url": sim.url, "rate_limit": bucket(capacity, scope="instance")}
            for sim, capacity in ((a, 2), (b, 3))
        ]
        cfg = Config.model_validate({"services": {"chat": {"instances": instances}}})
        with serving(cfg) as (_, client, _):
            # A takes two, B three: none fails while either instance has room.
            assert [chat(client).status_code for _ in range(5)] == [200] * 5
            assert (a.journal.received, b.journal.received) == (2, 3)
            # Both limited: a 429, not a 503, and no upstream request.
            assert "rate limit of" in assert_limited(chat(client), 2, 3)
            assert (a.journal.received, b.journal.received) == (2, 3)


# -- token limits -------------------------------------------------------------------------------


def usage_of(resp: httpx.Response) -> int:
    """The answer's total tokens: from its JSON body, or its stream's usage event."""
    if not resp.headers["content-type"].startswith("text/event-stream"):
        total: int = resp.json()["usage"]["total_tokens"]
        return total
    events = [line.removeprefix("data: ") for line in resp.text.split("\n\n") if line]
    (usage,) = [orjson.loads(e)["usage"] for e in events if e != "[DONE]" and '"usage"' in e]
    tokens: int = usage["total_tokens"]
    return tokens


@pytest.mark.parametrize(
    ("scope", "stream"),
    [
        ("global", False),
        ("global", True),
        ("instance", False),
    ],
)
def test_a_token_limit_is_settled_to_the_real_usage(
    sim: ServerThread, scope: str, stream: bool
) -> None:
    """Each request reserves its estimate (prompt + max_tokens) and is then charged the usage
    the answer reports, a few tokens: far more requests pass than the reservations would let."""
    capacity = 100
    body: dict[str, Any] = {**CHAT, "max_tokens": 50}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    reserve = estimate_tokens(body, default_max_tokens=1024)
    limit = bucket(capacity, unit="tokens", scope=scope)
    cfg = Config.model_validate(
        {
            "services": {
                "chat": {
                    "rate_limit": limit if scope != "instance" else None,
                    "instances": [
                        {"model": MODEL, "url": sim.url}
                        | ({"rate_limit": limit} if scope == "instance" else {})
                    ],
                }
            }
        }
    )
    with serving(cfg) as served:
        used: list[int] = []
        while (resp := chat(served.client, body)).status_code == 200 and len(used) < 20:
            if scope == "global":
                remaining = int(resp.headers["x-ratelimit-remaining-tokens"])
                assert remaining == capacity - sum(used) - reserve
            used.append(usage_of(resp))
            served.settled.wait()  # the router has settled the answer's usage
        refusal = assert_limited(resp, capacity, suffix="-tokens")
        assert "rate limit of 100 tokens reached" in refusal
        # Refused exactly when what is left no longer covers the reservation.
        assert capacity - sum(used) < reserve <= capacity - sum(used[:-1])
        assert len(used) > capacity // reserve
        # A request that reserves less still fits.
        small = chat(served.client, {**CHAT, "max_tokens": 1})
        assert small.status_code == 200, small.text


def test_a_request_larger_than_the_whole_token_budget_is_refused_for_good(
    sim: ServerThread,
) -> None:
    with serving(config(sim.url, rate_limit=bucket(100, unit="tokens"))) as (_, client, _):
        resp = chat(client, {**CHAT, "max_tokens": 500})
        assert resp.status_code == 429
        assert "retry-after" not in resp.headers
        assert (
            "this request alone exceeds the tokens limit of 100" in resp.json()["error"]["message"]
        )
        # A token limit's 429 names its headers as OpenAI's do, not as a request limit's.
        assert resp.headers["x-ratelimit-limit-tokens"] == "100"
        assert resp.headers["x-ratelimit-remaining-tokens"] == "0"
        assert "x-ratelimit-limit" not in resp.headers
        assert sim.journal.received == 0
