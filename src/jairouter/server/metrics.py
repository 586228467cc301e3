"""The router's Prometheus metrics, read from the live counters only when scraped.

Every family is built afresh per scrape from the current route table, so instances a reload
removed disappear and unchanged ones keep counting. One process's view: see docs/performance.md
for what several workers would need.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from jairouter.config.masking import without_password
from jairouter.core.stats import LATENCY_BOUNDS, STATUS_CLASSES, Histogram

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from jairouter.pipeline.admission import Admission
    from jairouter.pipeline.routing import RouteTable

INSTANCE = ["service", "model", "instance"]
CIRCUIT_STATES = {"closed": 0, "half-open": 1, "open": 2}
_ALWAYS = {"2xx", "4xx", "5xx", "error"}  # 1xx and 3xx only once seen


class RouterCollector(Collector):
    """Reads `routes()` and `admission()` (the current ones: a reload swaps them)."""

    def __init__(
        self, routes: Callable[[], RouteTable], admission: Callable[[], Admission]
    ) -> None:
        self._routes = routes
        self._admission = admission

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "jairouter_requests",
            "Exchanges with an instance, by outcome: HTTP status class, or error (unreachable, "
            "timed out, broken off, error event in a stream).",
            labels=[*INSTANCE, "status_class"],
        )
        duration = HistogramMetricFamily(
            "jairouter_request_duration_seconds",
            "Duration of exchanges with an instance, until the answer's last byte.",
            labels=INSTANCE,
        )
        ttfb = HistogramMetricFamily(
            "jairouter_upstream_ttfb_seconds",
            "Time until a streaming instance sent its response headers.",
            labels=INSTANCE,
        )
        inflight = GaugeMetricFamily(
            "jairouter_inflight", "Exchanges in progress with an instance.", labels=INSTANCE
        )
        circuit = GaugeMetricFamily(
            "jairouter_circuit_state",
            "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
            labels=INSTANCE,
        )
        opened = CounterMetricFamily(
            "jairouter_circuit_opened", "Times the instance's circuit opened.", labels=INSTANCE
        )
        ejected = GaugeMetricFamily(
            "jairouter_ejected", "1 while outlier detection ejects the instance.", labels=INSTANCE
        )
        retries = CounterMetricFamily(
            "jairouter_retries",
            "Failures of the instance after which another instance was tried.",
            labels=INSTANCE,
        )
        tokens = CounterMetricFamily(
            "jairouter_tokens",
            "Tokens answers reported in `usage` (read only where token limits apply).",
            labels=[*INSTANCE, "direction"],
        )
        fallbacks = CounterMetricFamily(
            "jairouter_fallbacks",
            "Requests for the model answered by a fallback model, the cache or a static answer.",
            labels=["service", "model"],
        )
        rate_limited = CounterMetricFamily(
            "jairouter_rate_limited",
            "Requests refused with 429 by the service's rate limits, before any instance.",
            labels=["service"],
        )
        services: dict[str, None] = {}
        for pool in self._routes().pools():
            service = pool.service.value
            services[service] = None
            fallbacks.add_metric([service, pool.model], pool.stats.fallbacks)
            for target in pool.targets:
                labels = [service, target.config.model, without_password(target.config.url)]
                stats = target.stats
                for name, count in zip(STATUS_CLASSES, stats.by_class, strict=True):
                    if count or name in _ALWAYS:
                        requests.add_metric([*labels, name], count)
                duration.add_metric(labels, *_buckets(stats.duration))
                ttfb.add_metric(labels, *_buckets(stats.first_byte))
                inflight.add_metric(labels, target.inflight)
                breaker = target.breaker.snapshot()
                circuit.add_metric(labels, CIRCUIT_STATES[breaker.state.value])
                opened.add_metric(labels, breaker.times_opened)
                ejected.add_metric(labels, int(pool.outliers.ejected(target.key)))
                retries.add_metric(labels, stats.retries)
                tokens.add_metric([*labels, "in"], stats.tokens_in)
                tokens.add_metric([*labels, "out"], stats.tokens_out)
        rejected = {service.value: n for service, n in self._admission().rejected.items()}
        for service in services:
            rate_limited.add_metric([service], rejected.get(service, 0))
        yield from (requests, duration, ttfb, inflight, circuit, opened, ejected, retries)
        yield from (tokens, fallbacks, rate_limited)


def _buckets(histogram: Histogram) -> tuple[list[tuple[str, float]], float]:
    """Cumulative (le, count) pairs, +Inf last, and the sum, as Prometheus wants them."""
    cumulative: list[tuple[str, float]] = []
    seen = 0
    for bound, count in zip((*LATENCY_BOUNDS, float("inf")), histogram.counts, strict=True):
        seen += count
        cumulative.append((_le(bound), seen))
    return cumulative, histogram.total


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)
