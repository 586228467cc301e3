"""`jairouter serve --workers 2` as one router: /metrics on any worker counts every worker's
requests (those of a worker that exited too), and a reload or a breaker reset sent to one
worker reaches both. The real console script in a subprocess; each worker's own view comes
from /admin/status's `per_worker` views; `pid` names the worker that answered."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.test_serve_demo import LISTENING, TIMEOUT, Jairouter, jairouter
from tests.server.test_metrics import CHAT, MODEL, Fault, Samples, backend, scrape, value

TRIES = 400  # connections to make at most before both workers have been reached
Statuses = dict[int, dict[str, Any]]


@contextmanager
def two_workers(tmp_path: Path, url: str, **breaker: Any) -> Iterator[httpx.Client]:
    """A 2-worker router in front of `url`; its client makes a new connection per request,
    so that requests spread over the workers."""
    config = tmp_path / "jairouter.yaml"
    config.write_text(
        "services:\n  chat:\n"
        f"    circuit_breaker: {breaker or {'enabled': False}}\n"
        "    health_check: {enabled: false, outlier: {enabled: false}}\n"
        "    retry: {attempts: 1}\n"
        f"    instances:\n      - model: {MODEL}\n        url: {url}\n"
    )
    args = ("serve", "--config", str(config), "--port", "0", "--workers", "2")
    with jairouter(*args, cwd=tmp_path) as router:
        port = int(router.stdout.wait_for(LISTENING)[1])
        _wait_started(router, workers=2)
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=TIMEOUT, limits=limits) as c:
            try:
                yield c
            finally:
                router.stop(signal.SIGTERM)
        assert "Traceback" not in router.stderr.text


def statuses(client: httpx.Client) -> Statuses:
    """/admin/status of each of the two workers."""
    seen: Statuses = {}
    for _ in range(TRIES):
        try:
            status = client.get("/admin/status").json()
        except httpx.TransportError:
            continue  # a worker starting or stopping
        seen[status["pid"]] = status
        if len(seen) == 2:
            return seen
    raise AssertionError(f"only workers {list(seen)} answered {TRIES} connections")


def instance(status: dict[str, Any]) -> dict[str, Any]:
    (only,) = status["services"]["chat"]
    assert isinstance(only, dict)
    return only


def per_worker(answer: httpx.Response) -> list[dict[str, Any]]:
    """Each worker's own view of the only instance, from the whole router's status."""
    views = instance(answer.json())["per_worker"]
    assert isinstance(views, list)
    return views


def settled(client: httpx.Client, url: str) -> Samples:
    """A scrape once no worker has an exchange in flight (the last answers are counted)."""
    for _ in range(TRIES):
        samples = scrape(client)
        if value(samples, "jairouter_inflight", url) == 0:
            return samples
    raise AssertionError("requests stayed in flight")


def test_every_worker_reports_the_whole_routers_counts(tmp_path: Path) -> None:
    with backend() as (sim, _), two_workers(tmp_path, sim.url) as client:
        sent = 0
        own: dict[int, int] = {}
        while len(own) < 2 or 0 in own.values():  # until each worker served a share
            assert sent < TRIES, own
            for _ in range(10):
                assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
            sent += 10
            own = {w["pid"]: w["requests"] for w in per_worker(client.get("/admin/status"))}
        assert sum(own.values()) == sent
        for _ in range(10):  # new connections: different workers answer
            samples = settled(client, sim.url)
            assert value(samples, "jairouter_requests_total", sim.url, status_class="2xx") == sent
            assert value(samples, "jairouter_upstream_duration_seconds_count", sim.url) == sent
            assert value(samples, "jairouter_tokens_total", sim.url, direction="out") == sent * 4

        # A worker that exits takes its counts nowhere: they stay in the total.
        gone = min(own)
        os.kill(gone, signal.SIGTERM)
        _wait_exited(gone)
        for _ in range(10):
            samples = settled(client, sim.url)
            assert value(samples, "jairouter_requests_total", sim.url, status_class="2xx") == sent


def test_a_reload_and_a_breaker_reset_reach_every_worker(tmp_path: Path) -> None:
    breaker = {"consecutive_failures": 1, "failure_rate_threshold": 0, "open_duration": 60}
    with backend() as (sim, fault), two_workers(tmp_path, sim.url, **breaker) as client:
        _open_both_circuits(client, fault)
        fault.status = None
        ref = {"service": "chat", "model": MODEL, "url": sim.url}
        assert client.post("/admin/breakers/reset", json=ref).json()["circuit"] == "closed"
        assert {w["circuit"] for w in per_worker(client.get("/admin/status"))} == {"closed"}

        # The file did not change, so no worker reloads unless told to.
        before = {s["config"]["generation"] for s in statuses(client).values()}
        answer = client.post("/admin/reload").json()
        assert answer["reloaded"] is True
        assert answer["generation"] not in before
        after = {s["config"]["generation"] for s in statuses(client).values()}
        assert after == {answer["generation"]}


def _open_both_circuits(client: httpx.Client, fault: Fault) -> None:
    fault.status = 500
    for _ in range(TRIES):
        assert client.post("/v1/chat/completions", json=CHAT).status_code in (500, 503)
        views = per_worker(client.get("/admin/status"))
        if len(views) == 2 and {w["circuit"] for w in views} == {"open"}:
            return
    pytest.fail("the circuits did not open in both workers")


def _wait_started(router: Jairouter, workers: int) -> None:
    for _ in range(int(TIMEOUT / 0.05)):
        if router.stderr.text.count("Application startup complete") == workers:
            return
        time.sleep(0.05)
    raise AssertionError(f"{workers} workers did not start:\n{router.stderr.text}")


def _wait_exited(pid: int) -> None:
    """Until `pid` has exited (gone, or a zombie its supervisor has yet to reap)."""
    proc = Path(f"/proc/{pid}/stat")
    for _ in range(int(TIMEOUT / 0.05)):
        try:
            if proc.read_text().split()[2] == "Z":
                return
        except FileNotFoundError:
            return
        time.sleep(0.05)
    raise AssertionError(f"worker {pid} did not exit")
