"""The status snapshot (`GET /admin/status`, its stream, `jairouter top`): every instance's
live state and counters.

With `serve --workers N` each worker keeps its own, so the snapshot asks the running siblings
for theirs (`workers.Workers.broadcast`) and adds them up as `/metrics` does: counters and
in-flight counts summed, latency quantiles from the summed histograms, and per-process state
at its worst (a circuit open in any worker is open, an instance any worker's probes or outlier
detection keep out is out), each instance's `per_worker` view beside. `workers` lists the
processes it adds up.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from jairouter import __version__
from jairouter.config.masking import without_password
from jairouter.core.breaker import State
from jairouter.core.stats import RECENT_ERRORS, Histogram
from jairouter.server.admin_limits import instance_limits, service_limits
from jairouter.server.admin_read import instance_counters, milliseconds

if TYPE_CHECKING:
    from jairouter.server.app import Router
    from jairouter.types import ServiceType

# A circuit's state by how much it keeps an instance out: the merged state is the worst.
_CIRCUIT_RANK = {
    State.CLOSED.value: 0,
    State.HALF_OPEN.value: 1,
    State.OPEN.value: 2,
}
_SUMMED = ("inflight", "requests", "errors", "throttled")
# What each worker's `per_worker` entry shows of an instance: its own state and counts.
_PER_WORKER = ("inflight", "requests", "errors", "circuit", "healthy", "ejected")
# Only between workers: each instance's histogram counts, so quantiles can be merged.
_HISTOGRAMS = "histograms"


async def router_status(router: Router) -> dict[str, Any]:
    """The whole router's snapshot: this process's, added up with its siblings' if any."""
    workers = router.workers
    own = status_snapshot(router, histograms=workers is not None)
    if workers is None:
        return {**own, "workers": [own["pid"]]}
    return merge_statuses(own, await workers.broadcast({"command": "status"}))


def status_snapshot(router: Router, *, histograms: bool = False) -> dict[str, Any]:
    """This process's snapshot: every instance's live state, and per service the balancing
    strategy, the requests its rate limits refused (429) and its disabled instances.
    `histograms`: with each instance's histogram counts, for `merge_statuses`."""
    prober = router.prober
    services: dict[str, list[dict[str, Any]]] = {}
    for pool in router.routes.pools():
        for target in pool.targets:
            breaker = target.breaker.snapshot()
            entry = {
                "model": target.config.model,
                "url": without_password(target.config.url),
                "adapter": target.config.adapter,
                "weight": target.weight,
                "inflight": target.inflight,
                "circuit": breaker.state.value,
                "circuit_retry_in": round(breaker.retry_in, 3),
                "healthy": prober.serving(target.key) if prober is not None else None,
                "health_reason": prober.reason(target.key) if prober is not None else None,
                "ejected": pool.outliers.ejected(target.key),
                "limits": instance_limits(target),
                **instance_counters(target),
            }
            if histograms:
                stats = target.stats
                entry[_HISTOGRAMS] = {
                    "duration": stats.duration.counts,
                    "first_token": stats.first_token.counts,
                }
            services.setdefault(pool.service.value, []).append(entry)
    config = router.config
    refused: dict[ServiceType, int] = {}
    for (service, _scope), count in router.admission.rejected.items():
        refused[service] = refused.get(service, 0) + count
    service_state = {
        service.value: {
            "load_balance": config.load_balance_of(service),
            "rate_limited": refused.get(service, 0),
            # listed so a viewer can offer to enable them again
            "disabled": [
                {"model": inst.model, "url": without_password(inst.url)}
                for inst in svc.instances
                if not inst.enabled
            ],
        }
        for service, svc in config.services.items()
    }
    return {
        "version": __version__,
        "pid": os.getpid(),  # the process that answered
        "uptime": round(time.time() - router.started, 3),
        "config": {
            "generation": router.reloads.generation,
            "applied_at": router.reloads.applied_at,
            "path": str(router.config_path) if router.config_path else None,
            "reload_error": router.reloads.error,
            "restart_needed": router.reloads.restart_needed,
        },
        "services": services,
        "service_limits": service_limits(router),
        "service_state": service_state,
    }


def merge_statuses(own: Mapping[str, Any], others: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One snapshot of the workers whose snapshots (with histograms) these are. The config,
    limits and disabled instances are `own`'s: every worker loads the same file, and rate
    limits are kept per worker."""
    snapshots = [own, *others]
    instances: dict[tuple[str, str, str], list[tuple[int, Mapping[str, Any]]]] = {}
    refused: dict[str, int] = {}
    for snapshot in snapshots:
        pid = snapshot["pid"]
        for service, entries in snapshot["services"].items():
            for entry in entries:
                key = (service, entry["model"], entry["url"])
                instances.setdefault(key, []).append((pid, entry))
        for service, state in snapshot["service_state"].items():
            refused[service] = refused.get(service, 0) + state["rate_limited"]
    services: dict[str, list[dict[str, Any]]] = {}
    for (service, _, _), entries in instances.items():
        services.setdefault(service, []).append(_merge_instance(entries))
    service_state = {
        service: {**state, "rate_limited": refused[service]}
        for service, state in own["service_state"].items()
    }
    return {
        **own,
        "uptime": max(snapshot["uptime"] for snapshot in snapshots),
        "workers": sorted(snapshot["pid"] for snapshot in snapshots),
        "services": services,
        "service_state": service_state,
    }


def _merge_instance(by_pid: list[tuple[int, Mapping[str, Any]]]) -> dict[str, Any]:
    entries = [entry for _, entry in by_pid]
    worst = max(entries, key=lambda entry: _CIRCUIT_RANK.get(entry["circuit"], 0))
    probed = [entry["healthy"] for entry in entries if entry["healthy"] is not None]
    duration = _summed(entry[_HISTOGRAMS]["duration"] for entry in entries)
    first_token = _summed(entry[_HISTOGRAMS]["first_token"] for entry in entries)
    errors = sorted(
        (error for entry in entries for error in entry["recent_errors"]),
        key=lambda error: error["at"],
    )
    merged = {key: value for key, value in entries[0].items() if key != _HISTOGRAMS}
    merged.update({key: sum(entry[key] for entry in entries) for key in _SUMMED})
    merged.update(
        circuit=worst["circuit"],
        circuit_retry_in=worst["circuit_retry_in"],
        healthy=all(probed) if probed else None,
        health_reason=next((e["health_reason"] for e in entries if e["health_reason"]), None),
        ejected=any(entry["ejected"] for entry in entries),
        p50_ms=milliseconds(duration.quantile(0.5)),
        p95_ms=milliseconds(duration.quantile(0.95)),
        ttft_p50_ms=milliseconds(first_token.quantile(0.5)),
        recent_errors=errors[-RECENT_ERRORS:],
        per_worker=[
            {"pid": pid, **{key: entry[key] for key in _PER_WORKER}} for pid, entry in by_pid
        ],
    )
    return merged


def _summed(counts: Iterable[list[int]]) -> Histogram:
    """A histogram holding the sum of `counts` (all kept with the default bounds)."""
    histogram = Histogram()
    for each in counts:
        histogram.counts = [a + b for a, b in zip(histogram.counts, each, strict=True)]
    return histogram
