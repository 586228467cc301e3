"""Shaping status snapshots into frames: rates from counter deltas, alone and without HTTP."""

from __future__ import annotations

from typing import Any

from jairouter.tui.data import HISTORY, Shaper
from tests.tui import fixed


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


def test_limits_services_and_disabled_instances_from_the_snapshot() -> None:
    frame = Shaper().shape(fixed.snapshot(0))
    (gpu_a,) = [i for i in frame.instances if i.url == fixed.A]
    (bucket,) = gpu_a.limits
    assert (bucket.scope, bucket.unit, bucket.left) == ("instance", "requests", 0.375)
    chat = frame.services[0]
    assert (chat.name, chat.strategy, chat.instances, chat.serving) == (
        "chat",
        "least-connections",
        3,
        3,
    )
    tokens, clients = chat.limits
    assert tokens.left == 0.084
    assert (clients.scope, clients.left, clients.keys) == ("client", None, 12)
    (spare,) = [i for i in frame.instances if not i.enabled]
    assert (spare.model, spare.url) == ("qwen2", "http://spare:8000")
    assert frame.throttled == 7 + 4  # refused by the service's limits + answered 429


def test_an_open_or_unhealthy_instance_is_not_serving() -> None:
    chat = Shaper().shape(fixed.snapshot(0, degraded=True)).services[0]
    assert (chat.instances, chat.serving) == (3, 2)


def test_each_instance_keeps_a_bounded_rate_history() -> None:
    clock = Clock()
    shaper = Shaper(clock)
    for requests in range(0, 10 * (HISTORY + 5), 10):
        shaper.shape(snapshot(requests))
        clock.now += 1
    (instance,) = shaper.shape(snapshot(10 * (HISTORY + 5))).instances
    assert len(instance.history) == HISTORY
    assert set(instance.history) == {10.0}


def test_a_snapshot_missing_fields_or_of_an_odd_shape_still_shapes() -> None:
    odd: dict[str, Any] = {
        "services": {"chat": [{"model": "m", "limits": "none", "recent_errors": [3]}, "x"]},
        "service_state": ["not", "a", "mapping"],
    }
    frame = Shaper().shape(odd)
    (instance,) = frame.instances
    assert (instance.limits, instance.recent_errors, instance.requests) == ((), (), 0)
    assert frame.version == "?"
