"""Soak: hold many slow streams open, push 100k+ requests through, and look for leaks.

Leaks show as RSS that keeps growing with requests (the slope over the second half of the run
must be near zero), and as descriptors or sockets that outlive their requests: client
connections still established once the load is gone (from /proc, must be 0), the router's own
in-flight gauges (`jairouter_inflight` on /metrics, must return to 0), and upstream connections,
which may stay idle in the keep-alive pool but must drain once its keep-alive time passes (up to
twice that: see `SoakPlan.drain_wait_s`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import load
import procstat
from services import LOAD_CPU, Service, get_text

POOL_KEEPALIVE_S = 60  # jairouter.upstream.client.UpstreamClient's keepalive_seconds default
PLATEAU = 0.5  # MB per 10k requests: growth below this over the second half counts as flat


@dataclass(frozen=True)
class Point:
    requests: int
    rss_mb: float
    fds: int
    client_conns: int
    upstream_conns: int


@dataclass(frozen=True)
class SoakPlan:
    holds: int = 1000  # slow streams held open
    hold_gap_ms: int = 1500  # between their SSE events: 20 events last about 30 s
    requests: int = 100_000
    batch_seconds: float = 3.0
    max_batches: int = 80
    # aiohttp looks for expired idle connections once per keep-alive period, so one released
    # just after a check closes up to two periods later.
    drain_wait_s: float = 2 * POOL_KEEPALIVE_S + 15


def _point(router: Service, upstream_ports: set[int], requests: int) -> Point:
    s = procstat.sockets(router.pid, router.port, upstream_ports)
    return Point(requests, procstat.rss_mb(router.pid), s.fds, s.client_conns, s.upstream_conns)


def inflight(router: Service) -> int:
    """The router's exchanges in progress: the sum of its `jairouter_inflight` gauges."""
    total = 0.0
    for line in get_text(router.url + "/metrics").splitlines():
        if line.startswith("jairouter_inflight{"):
            total += float(line.rsplit(" ", 1)[1])
    return round(total)


def slope_mb_per_10k(points: list[Point]) -> float | None:
    """Least-squares RSS growth in MB per 10,000 requests."""
    if len(points) < 3:
        return None
    xs = [p.requests / 10_000 for p in points]
    ys = [p.rss_mb for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


def run_soak(
    router: Service, upstream_ports: list[int], plan: SoakPlan, log: bool = True
) -> dict[str, object]:
    ports = set(upstream_ports)
    say = print if log else (lambda *_: None)
    before = _point(router, ports, 0)
    say(f"soak: before {before}")

    slow_body = load.request_body(stream=True, gap_ms=plan.hold_gap_ms)
    slow = load.start_client(
        router.url, slow_body, plan.holds, 10.0, LOAD_CPU, per_conn=1, warmup=0.0
    )
    try:
        deadline = time.monotonic() + 30
        held = before
        while time.monotonic() < deadline:
            held = _point(router, ports, 0)
            if held.client_conns >= plan.holds:
                break
            time.sleep(0.2)
        inflight_holding = inflight(router)
        say(f"soak: {plan.holds} slow streams open {held}, {inflight_holding} in flight")

        points = [held]
        total = 0
        for batch in range(plan.max_batches):
            if total >= plan.requests:
                break
            body = load.request_body(stream=batch % 2 == 1)
            result = load.run_wrk(router.url, body, 64, plan.batch_seconds, LOAD_CPU)
            if result.errors:
                raise load.LoadError(f"soak batch {batch}: {result.errors} errors")
            total += result.requests
            points.append(_point(router, ports, total))
        say(f"soak: {total} requests, last {points[-1]}")
        slow_result = load.client_result(slow, plan.hold_gap_ms / 1000 * 25 + 120)
    except BaseException:
        if slow.poll() is None:
            slow.kill()
            slow.communicate()
        raise

    time.sleep(2)
    after = _point(router, ports, total)
    inflight_after = inflight(router)
    say(f"soak: after {after}, {inflight_after} in flight; waiting for idle upstream connections")
    drained_after = None
    start = time.monotonic()
    drained = after
    while time.monotonic() - start < plan.drain_wait_s:
        drained = _point(router, ports, total)
        if drained.upstream_conns <= before.upstream_conns:
            drained_after = time.monotonic() - start
            break
        time.sleep(5)

    half = points[len(points) // 2 :]
    return {
        "soak_slow_streams": plan.holds,
        "soak_slow_streams_completed": slow_result.requests,
        "soak_slow_stream_errors": slow_result.errors,
        "soak_requests": total,
        "soak_rss_mb_before": before.rss_mb,
        "soak_rss_mb_holding": held.rss_mb,
        "soak_rss_mb_after": after.rss_mb,
        "soak_rss_slope_mb_per_10k": slope_mb_per_10k(points),
        "soak_rss_slope_mb_per_10k_second_half": slope_mb_per_10k(half),
        "soak_fds_before": before.fds,
        "soak_fds_holding": held.fds,
        "soak_fds_after": after.fds,
        "soak_fds_drained": drained.fds,
        "soak_client_conns_after": after.client_conns,
        "soak_upstream_conns_before": before.upstream_conns,
        "soak_upstream_conns_holding": held.upstream_conns,
        "soak_upstream_conns_after": after.upstream_conns,
        "soak_upstream_conns_drained": drained.upstream_conns,
        "soak_pool_drained_after_s": None if drained_after is None else round(drained_after, 1),
        "soak_inflight_holding": inflight_holding,
        "soak_inflight_after": inflight_after,
        "soak_points": [asdict(p) for p in points],
    }


def soak_verdicts(figures: dict[str, object]) -> list[str]:
    """Leak checks: RSS plateaus, every client connection closed, descriptors back to start."""
    slope = figures.get("soak_rss_slope_mb_per_10k_second_half")
    shown = f"{slope:.3f}" if isinstance(slope, float) else "-"
    checks = [
        (
            f"RSS slope over the second half {shown} MB/10k requests (plateau: <= {PLATEAU})",
            isinstance(slope, float) and slope <= PLATEAU,
        ),
        (
            f"client connections after: {figures.get('soak_client_conns_after')} (must be 0)",
            figures.get("soak_client_conns_after") == 0,
        ),
        (
            f"in flight (jairouter_inflight): {figures.get('soak_inflight_holding')} while the "
            f"slow streams were held, {figures.get('soak_inflight_after')} after (must be 0)",
            figures.get("soak_inflight_after") == 0,
        ),
        (
            f"fds {figures.get('soak_fds_before')} before, {figures.get('soak_fds_holding')} "
            f"holding, {figures.get('soak_fds_drained')} once the pool idled out (<= before)",
            _at_most(figures.get("soak_fds_drained"), figures.get("soak_fds_before")),
        ),
        (
            f"upstream connections {figures.get('soak_upstream_conns_before')} before, "
            f"{figures.get('soak_upstream_conns_after')} right after (idle in the pool), "
            f"{figures.get('soak_upstream_conns_drained')} after "
            f"{figures.get('soak_pool_drained_after_s')} s",
            _at_most(
                figures.get("soak_upstream_conns_drained"),
                figures.get("soak_upstream_conns_before"),
            ),
        ),
    ]
    return [f"{'ok  ' if ok else 'MISS'} soak: {text}" for text, ok in checks]


def _at_most(value: object, limit: object) -> bool:
    return isinstance(value, int) and isinstance(limit, int) and value <= limit
