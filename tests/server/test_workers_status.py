"""`jairouter serve --workers 2` seen through the admin API and `jairouter top`: whichever
worker answers, the status is the whole router's (counts summed, state at its worst, each
worker's own view beside), and a status stream ends as soon as its worker starts draining.
The real console script in a subprocess."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import orjson

from jairouter.server.run import DRAIN_SECONDS
from jairouter.simulate import ServerThread, SimSettings, openai_app
from jairouter.tui.app import TopApp
from jairouter.tui.source import StatusSource
from tests.cli.test_serve_demo import LISTENING, TIMEOUT, jairouter
from tests.server.test_metrics import CHAT, backend
from tests.server.test_metrics_workers import TRIES, _wait_started, instance, two_workers
from tests.tui.test_top import header, until

MODEL = "workers-model"


def first_event(lines: Iterator[str]) -> dict[str, Any]:
    for line in lines:
        if line.startswith("data: "):
            snapshot = orjson.loads(line[6:])
            assert isinstance(snapshot, dict)
            return snapshot
    raise AssertionError("the stream ended before its first event")


def test_sigterm_ends_the_status_streams_of_every_worker_at_once(tmp_path: Path) -> None:
    """With a stream open on each worker, `serve` stops well within the drain limit, and each
    stream ends cleanly instead of being cut when the limit runs out."""
    with ServerThread(openai_app(SimSettings(models=(MODEL,)))) as sim:
        config = tmp_path / "jairouter.yaml"
        config.write_text(
            f"services:\n  chat:\n    instances:\n      - model: {MODEL}\n        url: {sim.url}\n"
        )
        args = ("serve", "--config", str(config), "--port", "0", "--workers", "2")
        with jairouter(*args, cwd=tmp_path) as router, ExitStack() as streams:
            port = int(router.stdout.wait_for(LISTENING)[1])
            _wait_started(router, workers=2)
            # No event comes by itself in the test: the interval is beyond the drain limit.
            url = f"http://127.0.0.1:{port}/admin/status/stream?interval=60"
            open_on: dict[int, Iterator[str]] = {}
            for _ in range(TRIES):
                client = streams.enter_context(httpx.Client(timeout=TIMEOUT))
                lines = streams.enter_context(client.stream("GET", url)).iter_lines()
                open_on.setdefault(first_event(lines)["pid"], lines)
                if len(open_on) == 2:
                    break
            assert len(open_on) == 2, "the streams all reached one worker"
            router.proc.send_signal(signal.SIGTERM)
            rests = [list(lines) for lines in open_on.values()]  # each returns once it ends
            assert router.proc.wait(DRAIN_SECONDS / 2) == 0
            router.wait()
        assert all(not any(line.startswith("data: ") for line in rest) for rest in rests)
        assert "Traceback" not in router.stderr.text


def served_by_both(client: httpx.Client) -> int:
    """Sends requests until each worker has served some; how many were sent."""
    for sent in range(1, TRIES):
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
        views = instance(client.get("/admin/status").json())["per_worker"]
        if len(views) == 2 and all(view["requests"] for view in views):
            return sent
    raise AssertionError("the requests all reached one worker")


def test_the_status_adds_up_every_worker_whichever_answers(tmp_path: Path) -> None:
    with backend() as (sim, _), two_workers(tmp_path, sim.url) as client:
        sent = served_by_both(client)
        answered: set[int] = set()
        for _ in range(TRIES):  # new connections: different workers answer
            status = client.get("/admin/status").json()
            answered.add(status["pid"])
            assert len(status["workers"]) == 2
            assert status["pid"] in status["workers"]
            whole = instance(status)
            assert whole["requests"] == sent
            assert sum(view["requests"] for view in whole["per_worker"]) == sent
            assert {view["pid"] for view in whole["per_worker"]} == set(status["workers"])
            assert whole["inflight"] == 0
            assert whole["p50_ms"] is not None
            if len(answered) == 2:
                break
        assert len(answered) == 2
        url = "/admin/status/stream?interval=60"
        with client.stream("GET", url) as answer:
            streamed = first_event(answer.iter_lines())
        assert len(streamed["workers"]) == 2
        assert instance(streamed)["requests"] == sent


def test_a_circuit_open_in_one_worker_is_open_in_the_whole_routers_status(
    tmp_path: Path,
) -> None:
    breaker = {"consecutive_failures": 1, "failure_rate_threshold": 0, "open_duration": 60}
    with backend() as (sim, fault), two_workers(tmp_path, sim.url, **breaker) as client:
        fault.status = 500
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 500
        whole = instance(client.get("/admin/status").json())
    assert sorted(view["circuit"] for view in whole["per_worker"]) == ["closed", "open"]
    assert whole["circuit"] == "open"
    assert whole["circuit_retry_in"] > 0
    assert (whole["requests"], whole["errors"]) == (1, 1)
    assert [error["kind"] for error in whole["recent_errors"]] == ["server error"]


async def test_top_shows_how_many_workers_it_sees(tmp_path: Path) -> None:
    with backend() as (sim, _), two_workers(tmp_path, sim.url) as client:
        app = TopApp(StatusSource(str(client.base_url)), interval=0.1)
        async with app.run_test(size=(200, 40)) as pilot:
            await until(pilot, lambda: "2 workers" in header(app))
