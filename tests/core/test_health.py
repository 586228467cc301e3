from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from jairouter.config.resilience import HealthCheckConfig, OutlierConfig
from jairouter.core.breaker import Failure, FailureKind, classify
from jairouter.core.health import (
    Health,
    OutlierDetector,
    ProbeHealth,
    unavailable_message,
)

HTTP_503 = Failure(FailureKind.SERVER_ERROR, "HTTP 503")
REFUSED = Failure(FailureKind.CONNECT, "connection refused")
THROTTLED = Failure(FailureKind.THROTTLED, "HTTP 429")


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# -- active probes: rise/fall hysteresis ----------------------------------------------------


def test_healthy_until_fall_probes_fail_in_a_row() -> None:
    health = ProbeHealth(rise=2, fall=3)
    assert health.state is Health.HEALTHY
    assert health.record(False, "connection refused") is None
    assert health.record(False, "connection refused") is None
    assert health.serving
    assert health.record(False, "connection refused") == (Health.HEALTHY, Health.UNHEALTHY)
    assert not health.serving
    assert health.reason() == "unhealthy: 3 failed probes: connection refused"


def test_back_after_rise_probes_succeed_in_a_row() -> None:
    health = ProbeHealth(rise=2, fall=1)
    health.record(False, "HTTP 500")
    assert health.record(True) is None
    assert health.reason() == "unhealthy: 1 of 2 probes needed to return succeeded"
    assert health.record(True) == (Health.UNHEALTHY, Health.HEALTHY)
    assert health.reason() is None


def test_alternating_results_do_not_flap() -> None:
    health = ProbeHealth(rise=2, fall=2)
    for _ in range(10):
        assert health.record(False, "timed out") is None
        assert health.record(True) is None
    assert health.state is Health.HEALTHY


def test_a_failure_interrupts_a_recovery() -> None:
    health = ProbeHealth(rise=3, fall=1)
    health.record(False, "down")
    health.record(True)
    health.record(True)
    health.record(False, "down again")
    health.record(True)
    health.record(True)
    assert not health.serving
    assert health.record(True) == (Health.UNHEALTHY, Health.HEALTHY)


@pytest.mark.parametrize(("ok", "state"), [(True, Health.HEALTHY), (False, Health.UNHEALTHY)])
def test_from_unknown_the_first_result_decides(ok: bool, state: Health) -> None:
    health = ProbeHealth(rise=5, fall=5, initial="unknown")
    assert health.serving  # not yet probed: traffic flows
    assert health.record(ok, None if ok else "HTTP 503") == (Health.UNKNOWN, state)


def test_an_initially_unhealthy_instance_waits_for_rise_successes() -> None:
    health = ProbeHealth(rise=2, fall=3, initial="unhealthy")
    assert not health.serving
    assert health.reason() == "unhealthy: 0 of 2 probes needed to return succeeded"
    health.record(True)
    assert not health.serving
    health.record(True)
    assert health.serving


def test_state_changes_are_dated_by_the_injected_clock() -> None:
    clock = Clock()
    health = ProbeHealth.from_config(HealthCheckConfig(fall=1), clock=clock)
    assert health.since == 500
    clock.advance(7)
    health.record(False)
    assert health.since == 507
    assert health.reason() == "unhealthy: 1 failed probe: probe failed"


def test_rise_and_fall_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ProbeHealth(rise=0, fall=1)


# -- passive outlier detection --------------------------------------------------------------


class Pool:
    """An outlier detector over instances a..(n), on a fake clock, with its events."""

    def __init__(self, size: int = 4, **settings: Any) -> None:
        self.clock = Clock()
        self.keys = [chr(ord("a") + i) for i in range(size)]
        self.events: list[tuple[str, bool, str]] = []
        self.detector = OutlierDetector(
            OutlierConfig(**settings),
            self.keys,
            clock=self.clock,
            on_change=lambda key, out, why: self.events.append((key, out, why)),
        )

    def fail(self, key: str, times: int, failure: Failure = HTTP_503) -> None:
        for _ in range(times):
            self.detector.record(key, failure)

    def out(self) -> set[str]:
        return self.detector.ejected_keys()


def test_consecutive_failures_eject() -> None:
    pool = Pool(consecutive_failures=3)
    pool.fail("a", 2)
    assert pool.out() == set()
    assert pool.detector.record("a", REFUSED)
    assert pool.out() == {"a"}
    assert pool.detector.ejected("a")
    assert pool.detector.reason("a") == (
        "ejected for 30s: 3 consecutive failures (last: connection refused)"
    )
    assert pool.events == [
        ("a", True, "ejected for 30s: 3 consecutive failures (last: connection refused)")
    ]


def test_a_success_resets_the_run() -> None:
    pool = Pool(consecutive_failures=3)
    for _ in range(5):
        pool.fail("a", 2)
        pool.detector.record("a", None)
    assert pool.out() == set()


def test_429_neither_counts_nor_resets() -> None:
    pool = Pool(consecutive_failures=3)
    pool.fail("a", 2)
    pool.fail("a", 10, THROTTLED)
    assert pool.out() == set()
    pool.fail("a", 1)
    assert pool.out() == {"a"}


def test_failures_come_from_the_classifier() -> None:
    pool = Pool(consecutive_failures=2)
    pool.detector.record("a", classify(status=502))
    pool.detector.record("a", classify(status=404))  # the client's fault: resets
    pool.detector.record("a", classify(status=500))
    assert pool.out() == set()
    pool.detector.record("a", classify(error=TimeoutError()))
    assert pool.out() == {"a"}


def test_an_ejected_instance_returns_by_itself() -> None:
    pool = Pool(consecutive_failures=1, base_ejection_time=30)
    pool.fail("a", 1)
    pool.clock.advance(29)
    assert pool.detector.ejected("a")
    assert pool.detector.snapshot("a").remaining == 1
    pool.clock.advance(1)
    assert not pool.detector.ejected("a")
    assert pool.detector.reason("a") is None
    assert pool.events[-1] == (
        "a",
        False,
        "ejection ended after 1 consecutive failures (last: HTTP 503)",
    )


def test_each_ejection_lasts_longer_up_to_the_maximum() -> None:
    pool = Pool(consecutive_failures=1, base_ejection_time=30, max_ejection_time=100)
    durations = []
    for _ in range(5):
        pool.fail("a", 1)
        durations.append(pool.detector.snapshot("a").remaining)
        pool.clock.advance(durations[-1])  # fails again the moment it is back
    assert durations == [30, 60, 90, 100, 100]
    assert pool.detector.snapshot("a").times_ejected == 5


def test_time_in_service_works_the_multiplier_off() -> None:
    pool = Pool(consecutive_failures=1, base_ejection_time=10, max_ejection_time=1000)
    for _ in range(3):
        pool.fail("a", 1)
        pool.clock.advance(pool.detector.snapshot("a").remaining)
    assert pool.detector.snapshot("a").times_ejected == 3
    pool.clock.advance(25)  # two whole base times in service
    pool.fail("a", 1)
    assert pool.detector.snapshot("a").times_ejected == 2
    assert pool.detector.snapshot("a").remaining == 20


def test_failures_while_ejected_do_not_extend_the_ejection() -> None:
    pool = Pool(consecutive_failures=2, base_ejection_time=30)
    pool.fail("a", 2)
    pool.clock.advance(10)
    pool.fail("a", 10)  # requests that were in flight when it was ejected
    assert pool.detector.snapshot("a").remaining == 20
    pool.clock.advance(20)
    assert pool.out() == set()
    assert pool.detector.snapshot("a").consecutive_failures == 0


def test_at_most_the_percentage_is_ejected_at_once() -> None:
    pool = Pool(size=4, consecutive_failures=1, max_ejection_percent=50, base_ejection_time=30)
    pool.fail("a", 1)
    pool.fail("b", 1)
    assert not pool.detector.record("c", HTTP_503)
    assert pool.out() == {"a", "b"}
    pool.clock.advance(30)  # a and b are back; c failing again is ejected now
    assert pool.detector.record("c", HTTP_503)
    assert pool.out() == {"c"}


@pytest.mark.parametrize(
    ("size", "percent", "capacity"),
    [
        (1, 50, 0),  # never the only instance
        (1, 99, 0),
        (1, 100, 1),
        (2, 10, 1),  # at least one, as Envoy
        (2, 50, 1),
        (2, 99, 1),  # never all below 100%
        (2, 100, 2),
        (3, 50, 1),
        (4, 50, 2),
        (10, 10, 1),
        (10, 35, 3),
        (10, 99, 9),
        (10, 100, 10),
    ],
)
def test_capacity(size: int, percent: int, capacity: int) -> None:
    pool = Pool(size=size, max_ejection_percent=percent)
    assert pool.detector.capacity() == capacity


def test_one_instance_always_stays_when_the_cap_says_so() -> None:
    pool = Pool(size=3, consecutive_failures=1, max_ejection_percent=99)
    for key in pool.keys:
        pool.fail(key, 5)
    assert len(pool.out()) == 2


def test_at_100_percent_every_instance_may_go() -> None:
    pool = Pool(size=3, consecutive_failures=1, max_ejection_percent=100)
    for key in pool.keys:
        pool.fail(key, 1)
    assert pool.out() == {"a", "b", "c"}


def test_disabled_detection_ejects_nothing() -> None:
    pool = Pool(enabled=False, consecutive_failures=1)
    pool.fail("a", 10)
    assert pool.out() == set()


def test_unknown_instances_are_an_error() -> None:
    pool = Pool()
    with pytest.raises(KeyError):
        pool.detector.record("zz", HTTP_503)


# -- the 503 message ------------------------------------------------------------------------


def test_unavailable_message_lists_why_each_instance_is_out() -> None:
    message = unavailable_message(
        [
            ("a@http://10.0.0.5:8000", "circuit open for 12s"),
            ("b@http://10.0.0.6:8000", "unhealthy: 3 failed probes: connection refused"),
        ]
    )
    assert message == (
        "no instance available: a@http://10.0.0.5:8000 (circuit open for 12s), "
        "b@http://10.0.0.6:8000 (unhealthy: 3 failed probes: connection refused)"
    )
    assert unavailable_message([]) == "no instance available"


# -- config ---------------------------------------------------------------------------------


def test_the_defaults_are_valid_and_every_field_is_described() -> None:
    check = HealthCheckConfig()
    assert check.enabled
    assert check.outlier.enabled
    for model in (HealthCheckConfig, OutlierConfig):
        assert all(field.description for field in model.model_fields.values())


def test_max_ejection_time_must_cover_the_base() -> None:
    with pytest.raises(ValidationError, match="must be at least base_ejection_time") as info:
        OutlierConfig(base_ejection_time=60, max_ejection_time=30)
    assert info.value.errors()[0]["loc"] == ("max_ejection_time",)


@pytest.mark.parametrize(
    "bad",
    [
        {"path": "v1/models"},
        {"interval": 0},
        {"timeout": -1},
        {"jitter": -1},
        {"rise": 0},
        {"fall": 0},
        {"initial_state": "maybe"},
        {"outlier": {"max_ejection_percent": 0}},
        {"outlier": {"max_ejection_percent": 101}},
        {"outlier": {"consecutive_failures": 0}},
        {"intervall": 5},
    ],
)
def test_bad_settings_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        HealthCheckConfig.model_validate(bad)
