"""Shaping status snapshots into frames: rates from counter deltas, alone and without HTTP."""

from __future__ import annotations

from typing import Any

from jairouter.tui.data import Shaper


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def snapshot(requests: int, errors: int = 0) -> dict[str, Any]:
    entry = {"model": "m", "url": "http://a", "requests": requests, "errors": errors}
    return {
        "version": "1",
        "uptime": 3.0,
        "config": {"generation": 2},
        "services": {"chat": [entry]},
    }


def test_rates_come_from_deltas_between_polls() -> None:
    clock = Clock()
    shaper = Shaper(clock)
    first = shaper.shape(snapshot(10))
    assert first.total_rps is None  # one poll is no rate
    assert first.instances[0].rps is None
    clock.now += 2
    second = shaper.shape(snapshot(20, errors=5))
    assert second.instances[0].rps == 5.0
    assert second.total_rps == 5.0
    assert second.instances[0].error_rate == 0.25
    assert second.generation == 2


def test_a_restarted_router_never_shows_a_negative_rate() -> None:
    clock = Clock()
    shaper = Shaper(clock)
    shaper.shape(snapshot(50))
    clock.now += 1
    assert shaper.shape(snapshot(3)).instances[0].rps == 0.0
    shaper.forget()
    assert shaper.shape(snapshot(9)).instances[0].rps is None


def test_duplicate_instances_get_a_row_each() -> None:
    data = snapshot(1)
    data["services"]["chat"].append(dict(data["services"]["chat"][0]))
    keys = [i.key for i in Shaper().shape(data).instances]
    assert len(set(keys)) == 2
    assert Shaper().shape(data).instances[0].matches("HTTP://A")
