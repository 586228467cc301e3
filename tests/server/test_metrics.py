"""GET /metrics and the per-instance counters, through the real router over loopback: what the
counters say after known traffic, that a breaker's state shows, that a reload keeping an
instance keeps its counts, and the counters /admin/status is given."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from jairouter.config.models import Config
from jairouter.core.stats import Histogram
from jairouter.server.admin_read import instance_counters
from jairouter.simulate import Call, ServerThread, SimSettings, openai_app
from tests.routers import Settled, serving

MODEL = "m"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
STREAM = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class Fault:
    def __init__(self) -> None:
        self.status: int | None = None  # chat requests answer this status instead

    async def hook(self, call: Call) -> web.StreamResponse | None:
        if call.request.method != "POST" or self.status is None:
            return None
        body = {"error": {"message": f"injected {self.status}", "type": "injected"}}
        return web.json_response(body, status=self.status)


@contextmanager
def backend() -> Iterator[tuple[ServerThread, Fault]]:
    fault = Fault()
    settings = SimSettings(models=(MODEL,), token_delay=0, reply_tokens=4, hook=fault.hook)
    with ServerThread(openai_app(settings)) as sim:
        yield sim, fault


def config(*urls: str, failures: int = 100, retry: int = 1, **service: Any) -> Config:
    return Config.model_validate(
        {
            "services": {
                "chat": {
                    "circuit_breaker": {
                        "consecutive_failures": failures,
                        "failure_rate_threshold": 0,
                        "open_duration": 60,
                    },
                    "health_check": {"enabled": False, "outlier": {"enabled": False}},
                    "retry": {"attempts": retry, "backoff_base": 0},
                    "instances": [{"model": MODEL, "url": url} for url in urls],
                    **service,
                }
            }
        }
    )


def scrape(client: httpx.Client) -> Samples:
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(resp.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, url: str | None = None, **labels: str) -> float:
    """One sample; `url` stands for the instance label of the chat model's instance."""
    if url is not None:
        labels = {"service": "chat", "model": MODEL, "instance": url, **labels}
    return samples[(name, tuple(sorted(labels.items())))]


def test_counters_histograms_and_gauges_after_known_traffic() -> None:
    with backend() as (sim, fault), serving(config(sim.url)) as (router, client):
        for _ in range(3):
            assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
        for _ in range(2):
            assert client.post("/v1/chat/completions", json=STREAM).status_code == 200
        fault.status = 500
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 500
        fault.status = 400
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 400
        Settled(router).wait()

        samples = scrape(client)
        url = sim.url
        counts = {
            cls: value(samples, "jairouter_requests_total", url, status_class=cls)
            for cls in ("2xx", "4xx", "5xx", "error")
        }
        assert counts == {"2xx": 5, "4xx": 1, "5xx": 1, "error": 0}
        assert value(samples, "jairouter_upstream_duration_seconds_count", url) == 7
        assert value(samples, "jairouter_upstream_duration_seconds_bucket", url, le="+Inf") == 7
        assert value(samples, "jairouter_upstream_duration_seconds_sum", url) > 0
        assert value(samples, "jairouter_upstream_ttfb_seconds_count", url) == 2
        assert value(samples, "jairouter_inflight", url) == 0
        assert value(samples, "jairouter_circuit_state", url) == 0
        assert value(samples, "jairouter_ejected", url) == 0
        assert value(samples, "jairouter_retries_total", url) == 0
        assert value(samples, "jairouter_fallbacks_total", service="chat", model=MODEL) == 0
        pool = {"service": "chat", "model": MODEL}
        assert value(samples, "jairouter_request_duration_seconds_count", **pool) == 7
        assert value(samples, "jairouter_gateway_overhead_seconds_count", **pool) == 7
        assert value(samples, "jairouter_time_to_first_token_seconds_count", url) == 2
        # Answers without token limits are counted too: the simulator reports 4 completion
        # tokens per answer, in the JSON body and in the stream's last event alike.
        assert value(samples, "jairouter_tokens_total", url, direction="out") == 5 * 4
        assert not [name for name, _ in samples if name.startswith("jairouter_rate_limit")]


def test_the_circuit_state_gauge_follows_the_breaker() -> None:
    with backend() as (sim, fault), serving(config(sim.url, failures=2)) as (_, client):
        assert value(scrape(client), "jairouter_circuit_state", sim.url) == 0
        fault.status = 500
        for _ in range(2):
            client.post("/v1/chat/completions", json=CHAT)
        samples = scrape(client)
        assert value(samples, "jairouter_circuit_state", sim.url) == 2  # open
        assert value(samples, "jairouter_circuit_opened_total", sim.url) == 1
        transitions = "jairouter_circuit_transitions_total"
        assert value(samples, transitions, sim.url, to="open") == 1
        assert value(samples, transitions, sim.url, to="closed") == 0
        client.post(
            "/admin/breakers/reset", json={"service": "chat", "model": MODEL, "url": sim.url}
        )
        assert value(scrape(client), transitions, sim.url, to="closed") == 1


def test_retries_fallbacks_429s_and_tokens_are_counted() -> None:
    limit = {"algorithm": "token-bucket", "capacity": 1, "rate": 0.001}
    tokens = {**limit, "capacity": 10_000, "unit": "tokens"}
    with (
        backend() as (bad, fault),
        backend() as (good, _),
        serving(config(bad.url, good.url, retry=2, rate_limit=[limit, tokens])) as (_, client),
    ):
        fault.status = 500
        # Round-robin starts on the failing instance: its 500 is retried on the other one.
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 429
        samples = scrape(client)
        assert value(samples, "jairouter_retries_total", bad.url) == 1
        assert value(samples, "jairouter_retries_total", good.url) == 0
        assert value(samples, "jairouter_requests_total", bad.url, status_class="5xx") == 1
        assert value(samples, "jairouter_requests_total", good.url, status_class="2xx") == 1
        assert value(samples, "jairouter_rate_limited_total", service="chat", scope="global") == 1
        assert value(samples, "jairouter_rate_limit_allowed_total", service="chat") == 1
        assert value(samples, "jairouter_tokens_total", good.url, direction="in") > 0
        assert value(samples, "jairouter_tokens_total", good.url, direction="out") == 4


def test_a_static_fallback_answer_counts_for_the_requested_model() -> None:
    fallback = {"static_response": "busy, try later"}
    with (
        backend() as (sim, fault),
        serving(config(sim.url, fallback=fallback)) as (_, client),
    ):
        fault.status = 503
        resp = client.post("/v1/chat/completions", json=CHAT)
        assert resp.headers["x-jairouter-fallback"] == "static"
        samples = scrape(client)
        assert value(samples, "jairouter_fallbacks_total", service="chat", model=MODEL) == 1


def test_counters_survive_a_reload_that_keeps_the_instance() -> None:
    with (
        backend() as (kept, _),
        backend() as (added, _),
        serving(config(kept.url)) as (router, client),
    ):
        for _ in range(3):
            assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
        asyncio.run(router.router.apply(config(kept.url, added.url)))
        samples = scrape(client)
        assert value(samples, "jairouter_requests_total", kept.url, status_class="2xx") == 3
        assert value(samples, "jairouter_requests_total", added.url, status_class="2xx") == 0
        assert value(samples, "jairouter_upstream_duration_seconds_count", kept.url) == 3


def test_instance_counters_for_the_status_snapshot() -> None:
    with backend() as (sim, fault), serving(config(sim.url)) as (router, client):
        (target,) = router.router.routes.targets()
        assert instance_counters(target) == {
            "requests": 0,
            "errors": 0,
            "throttled": 0,
            "p50_ms": None,
            "p95_ms": None,
            "ttft_p50_ms": None,
            "recent_errors": [],
        }
        client.post("/v1/chat/completions", json=CHAT)
        client.post("/v1/chat/completions", json=STREAM)
        fault.status = 502
        client.post("/v1/chat/completions", json=CHAT)
        fault.status = 429
        client.post("/v1/chat/completions", json=CHAT)
        Settled(router).wait()
        counters = instance_counters(target)
        assert (counters["requests"], counters["errors"], counters["throttled"]) == (4, 1, 1)
        recent = counters["recent_errors"]
        assert isinstance(recent, list)
        assert [(e["kind"], e["detail"]) for e in recent] == [
            ("server error", "HTTP 502"),
            ("throttled", "HTTP 429"),
        ]
        assert isinstance(counters["ttft_p50_ms"], float)
        p50, p95 = counters["p50_ms"], counters["p95_ms"]
        assert isinstance(p50, float)
        assert isinstance(p95, float)
        assert 0 < p50 <= p95


@pytest.mark.parametrize(
    ("observed", "q", "expected"),
    [
        ([0.0005] * 4, 0.5, 0.0005),  # the middle of the first bucket, 0..1 ms
        ([0.003, 0.004], 1.0, 0.005),  # the top of the 2.5..5 ms bucket
        ([1000.0], 0.5, 120.0),  # beyond the last bound: that bound
    ],
)
def test_histogram_quantiles_interpolate_inside_buckets(
    observed: list[float], q: float, expected: float
) -> None:
    histogram = Histogram()
    for seconds in observed:
        histogram.observe(seconds)
    assert histogram.quantile(q) == pytest.approx(expected)


def test_probes_show_as_health_state_and_probe_durations() -> None:
    check = {"enabled": True, "interval": 0.05, "jitter": 0, "initial_state": "unknown", "rise": 1}
    with backend() as (sim, _), serving(config(sim.url, health_check=check)) as (_, client):
        probes = "jairouter_health_probe_duration_seconds_count"
        for _ in range(1000):  # until the first probe is in
            samples = scrape(client)
            if value(samples, probes, sim.url) > 0:
                break
        assert value(samples, probes, sim.url) > 0
        assert value(samples, "jairouter_health_state", sim.url, state="healthy") == 1
        assert value(samples, "jairouter_health_state", sim.url, state="unknown") == 0
        assert value(samples, "jairouter_health_state", sim.url, state="unhealthy") == 0
