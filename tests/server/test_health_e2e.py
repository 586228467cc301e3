"""Health through the real router, over loopback: active probes take an instance whose probe
fails out of rotation and bring it back; passive outlier detection ejects an instance whose
live traffic keeps failing, for a while; with nobody left, a 503 says why each one is out.

Probes run every PROBE_EVERY seconds. The prober probes an instance, records the result, then
sleeps and probes again, so once a backend has received two probes after a switch, the first of
them has been recorded: tests wait for that in the backend's journal rather than for time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from aiohttp import web

from jairouter.config.models import Config
from jairouter.simulate import Call, ServerThread, SimSettings, openai_app
from tests.routers import serving

MODEL = "m"
PROBE_EVERY = 0.05
EJECTED_FOR = 0.5
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
PROBES = {"interval": PROBE_EVERY, "jitter": 0, "timeout": 1, "rise": 1, "fall": 1}
NO_OUTLIERS = {"enabled": False}
NO_BREAKER = {"enabled": False}


class Fault:
    """What a backend answers, switched by the test while it runs."""

    def __init__(self) -> None:
        self.probe_status: int | None = None  # answer health probes (GET) with this status
        self.status: int | None = None  # answer requests (POST) with this status

    async def hook(self, call: Call) -> web.StreamResponse | None:
        status = self.probe_status if call.request.method == "GET" else self.status
        if status is None:
            return None
        body = {"error": {"message": f"injected {status}", "type": "injected"}}
        return web.json_response(body, status=status)


class Backend:
    def __init__(self, sim: ServerThread, fault: Fault) -> None:
        self.sim = sim
        self.fault = fault
        self.url = sim.url
        self.label = f"{MODEL}@{sim.url}"

    def chats(self) -> int:
        return sum(1 for e in self.sim.journal.entries if e.method == "POST")

    def probes(self) -> int:
        return sum(1 for e in self.sim.journal.entries if e.method == "GET")

    def next_probe_recorded(self) -> None:
        """Returns once a probe that began after now has been recorded by the router."""
        seen = self.probes()
        self.sim.journal.wait_until(lambda _: self.probes() >= seen + 2)


@contextmanager
def backends(count: int) -> Iterator[list[Backend]]:
    """`count` simulated backends, each with its own switchable fault."""
    if count == 0:
        yield []
        return
    fault = Fault()
    # A journal long enough for every probe of a test, so counting its entries stays exact.
    settings = SimSettings(
        models=(MODEL,), token_delay=0, reply_tokens=2, journal_size=100_000, hook=fault.hook
    )
    with ServerThread(openai_app(settings)) as sim, backends(count - 1) as rest:
        yield [Backend(sim, fault), *rest]


def config(*instances: dict[str, Any], **service: Any) -> Config:
    return Config.model_validate(
        {"services": {"chat": {"retry": {"backoff_base": 0}, **service, "instances": instances}}}
    )


def chat(client: httpx.Client) -> httpx.Response:
    return client.post("/v1/chat/completions", json=CHAT)


def statuses(client: httpx.Client, count: int) -> list[int]:
    return [chat(client).status_code for _ in range(count)]


def probed_out(backend: Backend, status: int) -> re.Pattern[str]:
    """How a 503 names an instance its probes keep out (they go on failing meanwhile)."""
    why = rf"unhealthy: \d+ failed probes?: HTTP {status}: injected {status}"
    return re.compile(rf"{re.escape(backend.label)} \({why}\)")


def unavailable(resp: httpx.Response) -> str:
    assert resp.status_code == 503, resp.text
    error = resp.json()["error"]
    assert (error["type"], error["code"]) == ("service_unavailable", "no_instance_available")
    message: str = error["message"]
    assert message.startswith("no instance available: ")
    return message


# -- active probes ------------------------------------------------------------------------------


def test_a_failing_probe_takes_the_instance_out_until_it_recovers() -> None:
    with backends(2) as (a, b):
        instances = [{"model": MODEL, "url": x.url} for x in (a, b)]
        cfg = config(
            *instances,
            health_check={**PROBES, "outlier": NO_OUTLIERS},
            circuit_breaker=NO_BREAKER,
        )
        with serving(cfg) as (_, client):
            a.next_probe_recorded()
            assert statuses(client, 4) == [200] * 4
            assert (a.chats(), b.chats()) == (2, 2)

            a.fault.probe_status = 500
            a.next_probe_recorded()
            assert statuses(client, 4) == [200] * 4
            assert (a.chats(), b.chats()) == (2, 6)  # all went to B

            b.fault.probe_status = 503
            b.next_probe_recorded()
            message = unavailable(chat(client))
            assert probed_out(a, 500).search(message)
            assert probed_out(b, 503).search(message)

            a.fault.probe_status = None
            a.next_probe_recorded()
            assert statuses(client, 2) == [200] * 2
            assert (a.chats(), b.chats()) == (4, 6)  # A is back; B still out


def test_probes_only_watch_the_instances_that_ask_for_them() -> None:
    """A health_check on one instance probes that one alone; the other is never probed."""
    with backends(2) as (a, b):
        cfg = config(
            {"model": MODEL, "url": a.url, "health_check": PROBES},
            {"model": MODEL, "url": b.url},
            circuit_breaker=NO_BREAKER,
        )
        with serving(cfg) as (router, client):
            a.fault.probe_status = 500
            a.next_probe_recorded()
            assert statuses(client, 3) == [200] * 3
            assert (a.chats(), b.chats()) == (0, 3)
            assert b.probes() == 0
            assert router.router.prober is not None
            assert [t.label for t in router.router.prober.targets] == [a.label]


def test_an_instance_starting_unhealthy_waits_for_its_probes() -> None:
    with backends(1) as (a,):
        check = {**PROBES, "initial_state": "unhealthy", "outlier": NO_OUTLIERS}
        cfg = config({"model": MODEL, "url": a.url}, health_check=check)
        with serving(cfg) as (_, client):
            a.fault.probe_status = 500
            a.next_probe_recorded()
            assert probed_out(a, 500).search(unavailable(chat(client)))
            a.fault.probe_status = None
            a.next_probe_recorded()
            assert chat(client).status_code == 200


# -- passive outlier detection ------------------------------------------------------------------


def outliers(**outlier: Any) -> dict[str, Any]:
    settings = {"consecutive_failures": 2, "base_ejection_time": EJECTED_FOR, **outlier}
    return {"enabled": False, "outlier": settings}


def test_consecutive_server_errors_eject_the_instance_for_a_while() -> None:
    with backends(2) as (a, b):
        cfg = config(
            *[{"model": MODEL, "url": x.url} for x in (a, b)],
            health_check=outliers(max_ejection_percent=50),
            circuit_breaker=NO_BREAKER,
        )
        with serving(cfg) as (router, client):
            a.fault.status = 500
            # Retries on B cover A's failures, and A is out after two of them.
            assert statuses(client, 6) == [200] * 6
            assert (a.chats(), b.chats()) == (2, 6)
            (pool,) = router.router.routes.pools()
            assert pool.outliers.ejected_keys() == {f"chat|{MODEL}|{a.url}"}

            a.fault.status = None
            time.sleep(EJECTED_FOR)  # let the ejection run out
            assert statuses(client, 4) == [200] * 4
            assert a.chats() == 4  # back in rotation
            assert not pool.outliers.ejected_keys()


def test_max_ejection_percent_keeps_one_instance_in() -> None:
    with backends(2) as (a, b):
        cfg = config(
            *[{"model": MODEL, "url": x.url} for x in (a, b)],
            health_check=outliers(max_ejection_percent=50, base_ejection_time=30),
            circuit_breaker=NO_BREAKER,
        )
        with serving(cfg) as (router, client):
            a.fault.status = b.fault.status = 500
            assert statuses(client, 4) == [500] * 4
            (pool,) = router.router.routes.pools()
            assert len(pool.outliers.ejected_keys()) == 1
            # The one left in still takes every request: no 503.
            assert statuses(client, 2) == [500] * 2


def test_with_every_instance_ejected_the_503_says_why() -> None:
    with backends(2) as (a, b):
        cfg = config(
            *[{"model": MODEL, "url": x.url} for x in (a, b)],
            health_check=outliers(max_ejection_percent=100),
            circuit_breaker=NO_BREAKER,
        )
        with serving(cfg) as (_, client):
            a.fault.status = b.fault.status = 502
            assert statuses(client, 2) == [502] * 2  # each tried on A, then retried on B
            message = unavailable(chat(client))
            why = "(ejected for 1s: 2 consecutive failures (last: HTTP 502))"
            assert f"{a.label} {why}" in message
            assert f"{b.label} {why}" in message
            assert (a.chats(), b.chats()) == (2, 2)

            a.fault.status = b.fault.status = None
            time.sleep(EJECTED_FOR)
            assert statuses(client, 2) == [200] * 2


def test_the_503_names_each_instance_and_its_own_reason() -> None:
    """One instance out by its probes, one by its circuit, one ejected by outlier detection."""
    with backends(3) as (a, b, c):
        cfg = config(
            {"model": MODEL, "url": a.url, "health_check": {**PROBES, "enabled": True}},
            {"model": MODEL, "url": b.url, "circuit_breaker": {"consecutive_failures": 1}},
            {"model": MODEL, "url": c.url, "circuit_breaker": NO_BREAKER},
            health_check=outliers(),
            retry={"attempts": 1},
        )
        with serving(cfg) as (_, client):
            a.fault.probe_status = 500
            a.next_probe_recorded()
            b.fault.status = c.fault.status = 500
            # B fails once and opens its circuit; C fails twice and is ejected.
            assert statuses(client, 3) == [500] * 3
            message = unavailable(chat(client))
            assert probed_out(a, 500).search(message)
            assert f"{b.label} (circuit open for 30s)" in message
            assert f"{c.label} (ejected for 1s: 2 consecutive failures (last: HTTP 500))" in message
            assert (a.chats(), b.chats(), c.chats()) == (0, 1, 2)


def test_upstream_429s_do_not_eject() -> None:
    """A 429 says "busy", not "broken": it neither ejects the instance nor breaks a run."""
    with backends(2) as (a, b):
        cfg = config(
            *[{"model": MODEL, "url": x.url} for x in (a, b)],
            health_check=outliers(max_ejection_percent=50),
            circuit_breaker=NO_BREAKER,
        )
        with serving(cfg) as (router, client):
            a.fault.status = 429
            assert statuses(client, 6) == [200] * 6  # retried on B
            assert a.chats() == 3  # still getting its share
            (pool,) = router.router.routes.pools()
            assert not pool.outliers.ejected_keys()
