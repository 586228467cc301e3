"""Load balancing through the real router: where requests land, counted in backend journals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from jairouter.config.models import Config
from jairouter.simulate import ServerThread, SimSettings, openai_app
from tests.routers import run_router

MODEL = "balanced-model"
SETTINGS = SimSettings(models=(MODEL,), token_delay=0.05, reply_tokens=40, journal_size=200)


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[ServerThread, ServerThread]]:
    """Two identical backends; streams take two seconds, whole answers come at once."""
    with ServerThread(openai_app(SETTINGS)) as p, ServerThread(openai_app(SETTINGS)) as q:
        yield p, q


@pytest.fixture
def backends(pair: tuple[ServerThread, ServerThread]) -> tuple[ServerThread, ServerThread]:
    for sim in pair:
        sim.journal.clear()
    return pair


def router_for(
    backends: tuple[ServerThread, ServerThread],
    strategy: str,
    weights: tuple[int, int] = (1, 1),
    **server: Any,
) -> Config:
    instances = [
        {"model": MODEL, "url": sim.url, "weight": weight}
        for sim, weight in zip(backends, weights, strict=True)
    ]
    return Config.model_validate(
        {"server": server, "services": {"chat": {"load_balance": strategy, "instances": instances}}}
    )


def chat(client: httpx.Client, user: str = "", **headers: str) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "user": user}
    resp = client.post("/v1/chat/completions", json=body, headers=headers)
    assert resp.status_code == 200, resp.text


def test_round_robin_follows_weights_exactly(backends: tuple[ServerThread, ServerThread]) -> None:
    p, q = backends
    with (
        run_router(router_for(backends, "round-robin", (3, 1))) as router,
        httpx.Client(base_url=router.url, timeout=10) as client,
    ):
        for _ in range(40):
            chat(client)
    assert (p.journal.received, q.journal.received) == (30, 10)


def test_least_connections_picks_the_instance_without_streams(
    backends: tuple[ServerThread, ServerThread],
) -> None:
    with (
        run_router(router_for(backends, "least-connections")) as router,
        httpx.Client(base_url=router.url, timeout=10) as client,
        ExitStack() as open_streams,
    ):
        # Four slow streams spread two and two; find where each one landed.
        held: dict[ServerThread, list[httpx.Response]] = defaultdict(list)
        body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}
        for _ in range(4):
            before = [sim.journal.received for sim in backends]
            resp = open_streams.enter_context(
                client.stream("POST", "/v1/chat/completions", json=body)
            )
            assert resp.status_code == 200
            after = [sim.journal.received for sim in backends]
            (landed,) = (sim for sim, b, a in zip(backends, before, after, strict=True) if a > b)
            held[landed].append(resp)
        assert [len(held[sim]) for sim in backends] == [2, 2]
        # One backend's clients hang up; once it saw both go, it is the idle one.
        idle, busy = backends
        for resp in held[idle]:
            resp.close()
        idle.journal.wait_until(lambda j: j.disconnected == 2)
        busy_before = busy.journal.received
        for _ in range(6):
            chat(client)
        assert idle.journal.completed == 6
        assert busy.journal.received == busy_before
        assert busy.journal.disconnected == 0  # its two streams are still running


def _addresses(count: int) -> list[str]:
    return [f"203.0.113.{n}" for n in range(1, count + 1)]


def _landings(backends: tuple[ServerThread, ServerThread]) -> dict[str, set[int]]:
    """Which backends (0 or 1) each `user` of the journals' requests reached."""
    seen: dict[str, set[int]] = defaultdict(set)
    for index, sim in enumerate(backends):
        for entry in sim.journal.entries:
            seen[entry.json["user"]].add(index)
    return seen


def test_ip_hash_sticks_each_forwarded_client_to_one_instance(
    backends: tuple[ServerThread, ServerThread],
) -> None:
    clients = _addresses(30)
    config = router_for(backends, "ip-hash", trusted_proxies=["127.0.0.1/32"])
    with run_router(config) as router, httpx.Client(base_url=router.url, timeout=10) as client:
        for _ in range(3):
            for address in clients:
                # A proxy that appends to what the client sent: only the last entry is believed.
                chat(client, address, **{"X-Forwarded-For": f"10.9.9.9, {address}"})
    seen = _landings(backends)
    assert sorted(seen) == sorted(clients)
    assert all(len(where) == 1 for where in seen.values()), seen
    assert {index for where in seen.values() for index in where} == {0, 1}
    assert sum(sim.journal.received for sim in backends) == 90


def test_ip_hash_ignores_forwarded_for_from_untrusted_peers(
    backends: tuple[ServerThread, ServerThread],
) -> None:
    clients = _addresses(30)
    with (
        run_router(router_for(backends, "ip-hash")) as router,
        httpx.Client(base_url=router.url, timeout=10) as client,
    ):
        for address in clients:
            chat(client, address, **{"X-Forwarded-For": address})
    # Every request came from 127.0.0.1, so all of them hash to the same backend.
    assert sorted(sim.journal.received for sim in backends) == [0, 30]
