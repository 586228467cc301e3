"""The router's Prometheus metrics, read from the live counters only when scraped.

The request path bumps plain counters (`core.stats`, the breakers, the limits, the prober);
a scrape reads them from the current route table into a `Snapshot`, so instances a reload
removed disappear and unchanged ones keep counting. With several workers, the snapshots of
all of them are merged first (`server.workers`), then rendered in Prometheus' text format.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from jairouter.config.masking import without_password
from jairouter.core.breaker import State
from jairouter.core.health import Health
from jairouter.core.stats import LATENCY_BOUNDS, OVERHEAD_BOUNDS, STATUS_CLASSES, Histogram
from jairouter.server.snapshot import Reduce, Snapshot, Value

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from jairouter.health.prober import Prober
    from jairouter.pipeline.admission import Admission
    from jairouter.pipeline.routing import RouteTable

INSTANCE = ("service", "model", "instance")
POOL = ("service", "model")
CIRCUIT_STATES = {State.CLOSED: 0, State.HALF_OPEN: 1, State.OPEN: 2}
_ALWAYS = {"2xx", "4xx", "5xx", "error"}  # 1xx and 3xx only once seen


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    kind: Literal["counter", "gauge", "histogram"]
    help: str
    labels: tuple[str, ...]
    bounds: tuple[float, ...] = LATENCY_BOUNDS  # of a histogram
    across_workers: Reduce | None = None  # how a gauge combines workers' values


FAMILIES = {
    family.name: family
    for family in (
        Family(
            "jairouter_requests",
            "counter",
            "Exchanges with an instance, by outcome: HTTP status class, or error (unreachable, "
            "timed out, broken off, error event in a stream).",
            (*INSTANCE, "status_class"),
        ),
        Family(
            "jairouter_request_duration_seconds",
            "histogram",
            "Requests as the client sees them, by the model asked for: from the router "
            "receiving the request to the answer's end, retries and fallbacks included.",
            POOL,
        ),
        Family(
            "jairouter_upstream_duration_seconds",
            "histogram",
            "Exchanges with an instance, from sending the request upstream until the answer's "
            "last byte reached the client.",
            INSTANCE,
        ),
        Family(
            "jairouter_upstream_ttfb_seconds",
            "histogram",
            "Time until a streaming instance sent its response headers.",
            INSTANCE,
        ),
        Family(
            "jairouter_time_to_first_token_seconds",
            "histogram",
            "Streams: time from the router receiving the request until it sent the client the "
            "answer's first bytes.",
            INSTANCE,
        ),
        Family(
            "jairouter_gateway_overhead_seconds",
            "histogram",
            "The router's own time before a request's first upstream call: rate limits, "
            "choice of instance, circuit breaker.",
            POOL,
            bounds=OVERHEAD_BOUNDS,
        ),
        Family(
            "jairouter_inflight",
            "gauge",
            "Exchanges in progress with an instance (all workers).",
            INSTANCE,
            across_workers=operator.add,
        ),
        Family(
            "jairouter_tokens",
            "counter",
            "Tokens answers reported in `usage`.",
            (*INSTANCE, "direction"),
        ),
        Family(
            "jairouter_retries",
            "counter",
            "Failures of the instance after which another instance was tried.",
            INSTANCE,
        ),
        Family(
            "jairouter_circuit_state",
            "gauge",
            "Circuit breaker state: 0 closed, 1 half-open, 2 open (the worst among workers).",
            INSTANCE,
            across_workers=max,
        ),
        Family(
            "jairouter_circuit_opened",
            "counter",
            "Times the instance's circuit opened.",
            INSTANCE,
        ),
        Family(
            "jairouter_circuit_transitions",
            "counter",
            "Circuit breaker transitions, by the state entered.",
            (*INSTANCE, "to"),
        ),
        Family(
            "jairouter_ejected",
            "gauge",
            "1 while outlier detection ejects the instance (in any worker).",
            INSTANCE,
            across_workers=max,
        ),
        Family(
            "jairouter_health_state",
            "gauge",
            "Active health checks: 1 for the instance's state (a state any worker sees).",
            (*INSTANCE, "state"),
            across_workers=max,
        ),
        Family(
            "jairouter_health_probe_duration_seconds",
            "histogram",
            "Duration of active health probes.",
            INSTANCE,
        ),
        Family(
            "jairouter_fallbacks",
            "counter",
            "Requests for the model answered by a fallback model, the cache or a static answer.",
            POOL,
        ),
        Family(
            "jairouter_rate_limit_allowed",
            "counter",
            "Requests that passed the service's rate limits.",
            ("service",),
        ),
        Family(
            "jairouter_rate_limited",
            "counter",
            "Requests refused with 429 by the service's rate limits, before any instance, by "
            "the scope of the limit that refused.",
            ("service", "scope"),
        ),
    )
}
GAUGES = {f.name: f.across_workers for f in FAMILIES.values() if f.across_workers is not None}


def read(routes: RouteTable, admission: Admission, prober: Prober | None) -> Snapshot:
    """This process's counters, as a snapshot of every family."""
    s: Snapshot = {name: {} for name in FAMILIES}
    services: dict[str, None] = {}
    for pool in routes.pools():
        service = pool.service.value
        services[service] = None
        s["jairouter_fallbacks"][service, pool.model] = pool.stats.fallbacks
        s["jairouter_request_duration_seconds"][service, pool.model] = _value(pool.stats.duration)
        s["jairouter_gateway_overhead_seconds"][service, pool.model] = _value(pool.stats.overhead)
        for target in pool.targets:
            labels = (service, target.config.model, without_password(target.config.url))
            stats = target.stats
            for name, count in zip(STATUS_CLASSES, stats.by_class, strict=True):
                if count or name in _ALWAYS:
                    s["jairouter_requests"][(*labels, name)] = count
            s["jairouter_upstream_duration_seconds"][labels] = _value(stats.duration)
            s["jairouter_upstream_ttfb_seconds"][labels] = _value(stats.first_byte)
            s["jairouter_time_to_first_token_seconds"][labels] = _value(stats.first_token)
            s["jairouter_inflight"][labels] = target.inflight
            s["jairouter_tokens"][(*labels, "in")] = stats.tokens_in
            s["jairouter_tokens"][(*labels, "out")] = stats.tokens_out
            s["jairouter_retries"][labels] = stats.retries
            breaker = target.breaker.snapshot()
            s["jairouter_circuit_state"][labels] = CIRCUIT_STATES[breaker.state]
            s["jairouter_circuit_opened"][labels] = breaker.times_opened
            for state, count in target.breaker.transitions.items():
                s["jairouter_circuit_transitions"][(*labels, state.value)] = count
            s["jairouter_ejected"][labels] = int(pool.outliers.ejected(target.key))
    if prober is not None:
        for probed in prober.targets:
            labels = (probed.service.value, probed.model, without_password(probed.url))
            current = prober.health[probed.key].state
            for health in Health:
                s["jairouter_health_state"][(*labels, health.value)] = int(health is current)
            duration = _value(prober.durations[probed.key])
            s["jairouter_health_probe_duration_seconds"][labels] = duration
    for service_type, count in admission.allowed.items():
        if service_type.value in services:
            s["jairouter_rate_limit_allowed"][(service_type.value,)] = count
    for (service_type, scope), count in admission.rejected.items():
        if service_type.value in services:
            s["jairouter_rate_limited"][service_type.value, scope] = count
    return s


def render(snapshot: Snapshot) -> bytes:
    """Prometheus' text exposition format of `snapshot`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(snapshot))
    return generate_latest(registry)


class _Families(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        for name, samples in self._snapshot.items():
            family = FAMILIES[name]
            labels = list(family.labels)
            if family.kind == "histogram":
                histogram = HistogramMetricFamily(name, family.help, labels=labels)
                for values, value in samples.items():
                    assert isinstance(value, list)
                    histogram.add_metric(list(values), *_buckets(family.bounds, value))
                yield histogram
                continue
            kind = CounterMetricFamily if family.kind == "counter" else GaugeMetricFamily
            metric = kind(name, family.help, labels=labels)
            for values, value in samples.items():
                assert not isinstance(value, list)
                metric.add_metric(list(values), value)
            yield metric


def _value(histogram: Histogram) -> Value:
    return [*histogram.counts, histogram.total]


def _buckets(
    bounds: tuple[float, ...], value: list[float]
) -> tuple[list[tuple[str, float]], float]:
    """Cumulative (le, count) pairs, +Inf last, and the sum, as Prometheus wants them."""
    cumulative: list[tuple[str, float]] = []
    seen = 0.0
    for bound, count in zip((*bounds, float("inf")), value[:-1], strict=True):
        seen += count
        cumulative.append((_le(bound), seen))
    return cumulative, value[-1]


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)
