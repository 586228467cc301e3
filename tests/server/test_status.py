"""How the workers' status snapshots add up to the whole router's (`server/status.py`)."""

from __future__ import annotations

from typing import Any

from jairouter.core.stats import Histogram
from jairouter.server.status import merge_statuses


def histogram(*seconds: float) -> list[int]:
    observed = Histogram()
    for each in seconds:
        observed.observe(each)
    return observed.counts


def worker(pid: int, refused: int, **instance: Any) -> dict[str, Any]:
    """A worker's snapshot with one chat instance (the fields the merge reads)."""
    entry = {
        "model": "m",
        "url": "http://a",
        "inflight": 0,
        "requests": 0,
        "errors": 0,
        "throttled": 0,
        "circuit": "closed",
        "circuit_retry_in": 0.0,
        "healthy": True,
        "health_reason": None,
        "ejected": False,
        "recent_errors": [],
        "histograms": {"duration": histogram(), "first_token": histogram()},
        **instance,
    }
    return {
        "pid": pid,
        "uptime": float(pid),
        "config": {"generation": pid},
        "services": {"chat": [entry]},
        "service_state": {"chat": {"load_balance": "round-robin", "rate_limited": refused}},
    }


def test_counts_add_up_and_state_is_the_worst_any_worker_sees() -> None:
    own = worker(
        7,
        refused=1,
        inflight=1,
        requests=3,
        errors=1,
        throttled=1,
        circuit="half-open",
        recent_errors=[{"at": 2.0, "kind": "timeout", "detail": "b"}],
        histograms={"duration": histogram(0.01, 0.01, 0.01), "first_token": histogram()},
    )
    other = worker(
        3,
        refused=2,
        inflight=2,
        requests=1,
        circuit="open",
        circuit_retry_in=12.5,
        healthy=False,
        health_reason="probe failed",
        ejected=True,
        recent_errors=[{"at": 1.0, "kind": "server error", "detail": "a"}],
        histograms={"duration": histogram(5.0), "first_token": histogram(0.2)},
    )
    merged = merge_statuses(own, [other])
    (whole,) = merged["services"]["chat"]
    assert (merged["pid"], merged["workers"], merged["uptime"]) == (7, [3, 7], 7.0)
    assert merged["config"] == {"generation": 7}  # the answering worker's
    assert merged["service_state"]["chat"]["rate_limited"] == 3
    assert [whole[key] for key in ("inflight", "requests", "errors", "throttled")] == [3, 4, 1, 1]
    assert (whole["circuit"], whole["circuit_retry_in"]) == ("open", 12.5)
    assert (whole["healthy"], whole["health_reason"], whole["ejected"]) == (
        False,
        "probe failed",
        True,
    )
    assert [error["at"] for error in whole["recent_errors"]] == [1.0, 2.0]
    assert whole["p50_ms"] <= 10.0  # 3 of the 4 exchanges took 10 ms, one 5 s
    assert whole["p95_ms"] > 1000.0
    assert whole["ttft_p50_ms"] is not None
    assert "histograms" not in whole
    assert [(view["pid"], view["circuit"], view["requests"]) for view in whole["per_worker"]] == [
        (7, "half-open", 3),
        (3, "open", 1),
    ]


def test_unprobed_everywhere_stays_unknown() -> None:
    (whole,) = merge_statuses(worker(1, 0, healthy=None), [worker(2, 0, healthy=None)])["services"][
        "chat"
    ]
    assert whole["healthy"] is None
    assert (whole["p50_ms"], whole["ttft_p50_ms"]) == (None, None)
