from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from jairouter.config.resilience import CircuitBreakerConfig
from jairouter.core.breaker import (
    CircuitBreaker,
    Failure,
    FailureKind,
    State,
    Trial,
    classify,
)
from jairouter.errors import (
    BadRequest,
    ModelNotFound,
    NoCapacity,
    UpstreamBroken,
    UpstreamTimeout,
    UpstreamUnreachable,
)

CLOSED, OPEN, HALF = State.CLOSED, State.OPEN, State.HALF_OPEN


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Rig:
    """A breaker on a fake clock, with every transition it reported."""

    def __init__(self, **settings: Any) -> None:
        self.clock = Clock()
        self.transitions: list[tuple[State, State, str]] = []
        self.breaker = CircuitBreaker(
            CircuitBreakerConfig(**settings),
            clock=self.clock,
            on_transition=lambda old, new, why: self.transitions.append((old, new, why)),
        )

    @property
    def moves(self) -> list[tuple[State, State]]:
        return [(old, new) for old, new, _ in self.transitions]

    def allow(self) -> Trial:
        trial = self.breaker.allow()
        assert trial is not None
        return trial

    def fail(self, times: int = 1, why: str = "HTTP 503") -> None:
        for _ in range(times):
            self.allow().failure(why)

    def succeed(self, times: int = 1) -> None:
        for _ in range(times):
            self.allow().success()

    def open(self) -> None:
        self.fail(self.breaker.config.consecutive_failures)
        assert self.breaker.state is OPEN

    def half_open(self) -> None:
        self.open()
        self.clock.advance(self.breaker.retry_in())
        assert self.breaker.state is HALF


# -- closed ---------------------------------------------------------------------------------


def test_a_new_breaker_is_closed_and_grants_ordinary_requests() -> None:
    rig = Rig()
    trial = rig.allow()
    assert not trial.half_open
    assert rig.breaker.state is CLOSED
    assert rig.breaker.available()
    assert rig.breaker.refusal() is None
    assert rig.breaker.retry_in() == 0


def test_successes_keep_it_closed() -> None:
    rig = Rig(consecutive_failures=2, minimum_calls=1)
    rig.succeed(50)
    assert rig.breaker.state is CLOSED
    assert rig.transitions == []


def test_consecutive_failures_open_it_at_the_threshold() -> None:
    rig = Rig(consecutive_failures=3, failure_rate_threshold=0)
    rig.fail(2)
    assert rig.breaker.state is CLOSED
    rig.fail(1, "HTTP 502")
    assert rig.moves == [(CLOSED, OPEN)]
    assert rig.transitions[0][2] == "3 consecutive failures (last: HTTP 502); open for 30s"


def test_a_success_breaks_the_run_of_failures() -> None:
    rig = Rig(consecutive_failures=3, failure_rate_threshold=0)
    for _ in range(10):
        rig.fail(2)
        rig.succeed()
    assert rig.breaker.state is CLOSED


def test_the_failure_rate_waits_for_minimum_calls() -> None:
    rig = Rig(consecutive_failures=0, failure_rate_threshold=50, minimum_calls=10)
    rig.fail(9)
    assert rig.breaker.state is CLOSED
    assert rig.breaker.snapshot().failure_rate == 100
    rig.fail(1)
    assert rig.breaker.state is OPEN
    assert rig.transitions[0][2].startswith("100% of 10 calls in the last 60s failed")


def test_the_failure_rate_opens_at_the_threshold_not_below() -> None:
    rig = Rig(consecutive_failures=0, failure_rate_threshold=50, minimum_calls=10)
    for _ in range(4):
        rig.succeed()
        rig.fail()
    rig.succeed(2)  # 4 of 10 failed
    assert rig.breaker.state is CLOSED
    rig.fail()  # 5 of 11: 45%
    assert rig.breaker.state is CLOSED
    rig.fail()  # 6 of 12: 50%
    assert rig.breaker.state is OPEN


def test_failures_leave_the_window_as_time_passes() -> None:
    rig = Rig(consecutive_failures=0, failure_rate_threshold=50, minimum_calls=4, window=60)
    rig.fail(3)
    rig.clock.advance(61)
    assert rig.breaker.snapshot().window_calls == 0
    rig.fail()  # one failure of one call: below minimum_calls
    rig.succeed(3)
    assert rig.breaker.state is CLOSED
    assert rig.breaker.snapshot().window_failures == 1


def test_the_window_keeps_recent_calls() -> None:
    rig = Rig(consecutive_failures=0, failure_rate_threshold=50, minimum_calls=4, window=60)
    rig.fail(3)
    rig.clock.advance(30)
    rig.fail()
    assert rig.breaker.state is OPEN


# -- open -----------------------------------------------------------------------------------


def test_an_open_circuit_refuses_and_says_for_how_long() -> None:
    rig = Rig(open_duration=30)
    rig.open()
    assert rig.breaker.allow() is None
    assert not rig.breaker.available()
    assert rig.breaker.retry_in() == 30
    rig.clock.advance(17.5)
    assert rig.breaker.retry_in() == 12.5
    assert rig.breaker.refusal() == "circuit open for 13s"
    assert rig.breaker.allow() is None


def test_it_turns_half_open_when_the_open_duration_has_passed() -> None:
    rig = Rig(open_duration=30)
    rig.open()
    rig.clock.advance(29.9)
    assert rig.breaker.state is OPEN
    rig.clock.advance(0.1)
    trial = rig.allow()
    assert trial.half_open
    assert rig.moves == [(CLOSED, OPEN), (OPEN, HALF)]
    assert rig.transitions[1][2] == "open for 30s, trying again"


# -- half-open ------------------------------------------------------------------------------


def test_half_open_lets_only_the_configured_trials_through() -> None:
    rig = Rig(half_open_trials=2)
    rig.half_open()
    first, second = rig.allow(), rig.allow()
    assert first.half_open
    assert second.half_open
    assert rig.breaker.allow() is None
    assert rig.breaker.refusal() == "circuit half-open, 2 trial requests in flight"
    assert rig.breaker.snapshot().trials_in_flight == 2


def test_trial_successes_close_it() -> None:
    rig = Rig(half_open_trials=1, success_threshold=3)
    rig.half_open()
    rig.succeed(2)
    assert rig.breaker.state is HALF
    assert rig.breaker.snapshot().trial_successes == 2
    rig.succeed()
    assert rig.moves[-1] == (HALF, CLOSED)
    assert rig.transitions[-1][2] == "3 trial requests succeeded"
    assert rig.breaker.snapshot().openings == 0


def test_closing_forgets_the_failures_that_opened_it() -> None:
    rig = Rig(consecutive_failures=3, failure_rate_threshold=50, minimum_calls=10)
    rig.fail(2)
    rig.succeed()
    rig.fail(3)
    assert rig.breaker.state is OPEN
    rig.clock.advance(30)
    rig.succeed(2)
    assert rig.breaker.state is CLOSED
    snap = rig.breaker.snapshot()
    assert (snap.window_calls, snap.window_failures, snap.consecutive_failures) == (0, 0, 0)
    rig.fail(2)
    assert rig.breaker.state is CLOSED


def test_a_failed_trial_reopens_it() -> None:
    rig = Rig(half_open_trials=3)
    rig.half_open()
    ok, bad, late = rig.allow(), rig.allow(), rig.allow()
    ok.success()
    bad.failure(Failure(FailureKind.TIMEOUT, "upstream timed out"))
    assert rig.moves[-1] == (HALF, OPEN)
    assert rig.transitions[-1][2] == "trial request failed: upstream timed out; open for 60s"
    late.success()  # a trial of the half-open state just left counts for nothing
    assert rig.breaker.state is OPEN


def test_reopening_backs_off_up_to_the_maximum() -> None:
    rig = Rig(open_duration=30, backoff_multiplier=2, max_open_duration=200)
    rig.open()
    durations = [rig.breaker.retry_in()]
    for _ in range(5):
        rig.clock.advance(rig.breaker.retry_in())
        rig.allow().failure()
        durations.append(rig.breaker.retry_in())
    assert durations == [30, 60, 120, 200, 200, 200]
    assert rig.breaker.snapshot().openings == 6
    assert rig.breaker.snapshot().times_opened == 6


def test_a_multiplier_of_one_keeps_the_open_duration() -> None:
    rig = Rig(open_duration=10, backoff_multiplier=1)
    rig.half_open()
    rig.allow().failure()
    assert rig.breaker.retry_in() == 10


def test_the_backoff_starts_over_once_closed() -> None:
    rig = Rig(open_duration=30, success_threshold=1)
    rig.half_open()
    rig.allow().failure()
    assert rig.breaker.retry_in() == 60
    rig.clock.advance(60)
    rig.succeed()
    assert rig.breaker.state is CLOSED
    rig.open()
    assert rig.breaker.retry_in() == 30


def test_backoff_survives_a_very_long_outage() -> None:
    rig = Rig(open_duration=1, backoff_multiplier=10, max_open_duration=300)
    rig.open()
    for _ in range(2000):  # 10**2000 would overflow a float
        rig.clock.advance(rig.breaker.retry_in())
        rig.allow().failure()
    assert rig.breaker.retry_in() == 300


def test_cancel_releases_a_trial_slot_without_counting() -> None:
    rig = Rig(half_open_trials=1, success_threshold=1)
    rig.half_open()
    trial = rig.allow()
    assert rig.breaker.allow() is None
    trial.cancel()
    assert rig.breaker.state is HALF
    assert rig.breaker.snapshot().trial_successes == 0
    rig.allow().success()
    assert rig.breaker.state is CLOSED


def test_cancel_in_closed_state_counts_nothing() -> None:
    rig = Rig(consecutive_failures=2, failure_rate_threshold=0)
    rig.fail()
    rig.allow().cancel()
    snap = rig.breaker.snapshot()
    assert (snap.window_calls, snap.consecutive_failures) == (1, 1)
    rig.fail()
    assert rig.breaker.state is OPEN


# -- outcomes are settled exactly once ------------------------------------------------------


def test_outcomes_are_idempotent() -> None:
    rig = Rig(consecutive_failures=2, failure_rate_threshold=0)
    trial = rig.allow()
    trial.failure()
    trial.failure()
    trial.success()
    assert trial.done
    assert rig.breaker.state is CLOSED
    assert rig.breaker.snapshot().consecutive_failures == 1


def test_a_half_open_slot_is_released_once() -> None:
    rig = Rig(half_open_trials=2, success_threshold=5)
    rig.half_open()
    trial = rig.allow()
    rig.allow()
    trial.cancel()
    trial.cancel()
    trial.success()
    assert rig.breaker.snapshot().trials_in_flight == 1
    assert rig.breaker.snapshot().trial_successes == 0


def test_record_maps_a_classification_to_an_outcome() -> None:
    rig = Rig(consecutive_failures=2, failure_rate_threshold=0)
    rig.allow().record(classify(status=503))
    rig.allow().record(classify(status=200))
    rig.allow().record(classify(status=500))
    assert rig.breaker.state is CLOSED
    rig.allow().record(classify(status=429))
    assert rig.transitions[-1][2].startswith("2 consecutive failures (last: HTTP 429)")


def test_requests_granted_before_it_opened_do_not_decide_later_states() -> None:
    rig = Rig(consecutive_failures=2, failure_rate_threshold=0, success_threshold=1)
    slow = [rig.allow() for _ in range(3)]  # in flight while the circuit opens
    rig.fail(2)
    rig.clock.advance(30)
    trial = rig.allow()
    for old in slow:
        old.success()
    assert rig.breaker.state is HALF
    assert rig.breaker.allow() is None  # the old successes freed no trial slot
    trial.success()
    assert rig.breaker.state is CLOSED
    slow[0].failure()  # already settled: nothing
    assert rig.breaker.snapshot().consecutive_failures == 0


# -- concurrency ----------------------------------------------------------------------------


async def test_concurrent_requests_get_at_most_the_trial_bound() -> None:
    rig = Rig(half_open_trials=3, success_threshold=100)
    rig.half_open()
    gate = asyncio.Event()
    granted: list[Trial] = []

    async def request() -> bool:
        trial = rig.breaker.allow()
        if trial is None:
            return False
        granted.append(trial)
        await gate.wait()  # all requests are in flight at once
        trial.success()
        return True

    tasks = [asyncio.create_task(request()) for _ in range(100)]
    await asyncio.sleep(0)
    assert len(granted) == 3
    assert rig.breaker.snapshot().trials_in_flight == 3
    gate.set()
    assert sum(await asyncio.gather(*tasks)) == 3
    assert rig.breaker.snapshot().trials_in_flight == 0
    assert rig.breaker.snapshot().trial_successes == 3


# -- reporting ------------------------------------------------------------------------------


def test_every_transition_is_reported_in_order() -> None:
    rig = Rig(consecutive_failures=1, success_threshold=1, open_duration=5)
    rig.fail()
    rig.clock.advance(5)
    rig.allow().failure()
    rig.clock.advance(10)
    rig.succeed()
    assert rig.moves == [
        (CLOSED, OPEN),
        (OPEN, HALF),
        (HALF, OPEN),
        (OPEN, HALF),
        (HALF, CLOSED),
    ]


def test_a_hook_may_read_the_breaker() -> None:
    clock = Clock()
    seen: list[State] = []
    breaker: CircuitBreaker

    def hook(old: State, new: State, why: str) -> None:
        seen.append(breaker.snapshot().state)

    breaker = CircuitBreaker(
        CircuitBreakerConfig(consecutive_failures=1), clock=clock, on_transition=hook
    )
    trial = breaker.allow()
    assert trial is not None
    trial.failure()
    assert seen == [OPEN]


def test_the_snapshot_reports_state_and_counters() -> None:
    rig = Rig(consecutive_failures=3, failure_rate_threshold=0)
    rig.succeed(3)
    rig.fail(2)
    snap = rig.breaker.snapshot()
    assert snap.state is CLOSED
    assert (snap.window_calls, snap.window_failures) == (5, 2)
    assert snap.failure_rate == 40
    assert snap.consecutive_failures == 2
    assert snap.reason == ""
    rig.clock.advance(1)
    rig.fail()
    snap = rig.breaker.snapshot()
    assert snap.state is OPEN
    assert snap.since == rig.clock.now
    assert snap.open_duration == 30
    assert snap.retry_in == 30
    assert snap.times_opened == 1
    assert snap.reason.startswith("3 consecutive failures")


def test_a_disabled_breaker_never_opens() -> None:
    rig = Rig(enabled=False, consecutive_failures=1)
    rig.fail(100)
    assert rig.breaker.state is CLOSED
    assert rig.breaker.available()
    assert rig.transitions == []


# -- classification -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, FailureKind.SERVER_ERROR),
        (502, FailureKind.SERVER_ERROR),
        (503, FailureKind.SERVER_ERROR),
        (504, FailureKind.SERVER_ERROR),
        (429, FailureKind.THROTTLED),
        (200, None),
        (201, None),
        (400, None),
        (401, None),
        (404, None),
        (413, None),
        (422, None),
    ],
)
def test_statuses_are_classified(status: int, kind: FailureKind | None) -> None:
    failure = classify(status=status)
    assert (failure.kind if failure else None) is kind
    if failure is not None:
        assert str(failure) == f"HTTP {status}"


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (UpstreamUnreachable("upstream a is unreachable"), FailureKind.CONNECT),
        (ConnectionRefusedError(111, "Connection refused"), FailureKind.CONNECT),
        (ConnectionResetError("reset by peer"), FailureKind.CONNECT),
        (UpstreamTimeout("upstream a timed out"), FailureKind.TIMEOUT),
        (TimeoutError(), FailureKind.TIMEOUT),
        (UpstreamBroken("upstream a sent a broken response"), FailureKind.BAD_RESPONSE),
        (BadRequest("bad json"), None),
        (ModelNotFound("no such model"), None),
        (NoCapacity("no instance available"), None),
        (ValueError("a router bug"), None),
    ],
)
def test_errors_are_classified(error: BaseException, kind: FailureKind | None) -> None:
    failure = classify(error=error)
    assert (failure.kind if failure else None) is kind


def test_an_error_event_in_a_200_stream_is_a_failure() -> None:
    failure = classify(status=200, stream_error="model crashed")
    assert failure == Failure(FailureKind.STREAM_ERROR, "error event in stream: model crashed")


def test_the_error_decides_before_the_status() -> None:
    failure = classify(status=200, error=UpstreamBroken("cut mid-body"))
    assert failure is not None
    assert failure.kind is FailureKind.BAD_RESPONSE
    assert classify() is None


def test_only_throttling_is_spared_from_outlier_ejection() -> None:
    assert not Failure(FailureKind.THROTTLED, "HTTP 429").ejects
    assert all(
        Failure(kind, "").ejects for kind in FailureKind if kind is not FailureKind.THROTTLED
    )


# -- config ---------------------------------------------------------------------------------


def test_the_defaults_are_valid_and_described() -> None:
    config = CircuitBreakerConfig()
    assert config.enabled
    assert all(field.description for field in CircuitBreakerConfig.model_fields.values())


def test_max_open_duration_must_cover_open_duration() -> None:
    with pytest.raises(ValidationError, match="must be at least open_duration") as info:
        CircuitBreakerConfig(open_duration=60, max_open_duration=30)
    assert info.value.errors()[0]["loc"] == ("max_open_duration",)


def test_an_enabled_breaker_needs_a_trigger() -> None:
    with pytest.raises(ValidationError, match="nothing could open the circuit"):
        CircuitBreakerConfig(consecutive_failures=0, failure_rate_threshold=0)
    CircuitBreakerConfig(enabled=False, consecutive_failures=0, failure_rate_threshold=0)


@pytest.mark.parametrize(
    "bad",
    [
        {"failure_rate_threshold": 101},
        {"window": 0},
        {"minimum_calls": 0},
        {"half_open_trials": 0},
        {"success_threshold": 0},
        {"backoff_multiplier": 0.5},
        {"open_duraton": 5},
    ],
)
def test_out_of_range_settings_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CircuitBreakerConfig.model_validate(bad)


# -- reset ----------------------------------------------------------------------------------


def test_reset_closes_an_open_circuit_and_forgets_the_run() -> None:
    rig = Rig(consecutive_failures=2, minimum_calls=100)
    stale = rig.allow()
    rig.open()
    rig.breaker.reset()
    assert rig.breaker.state is CLOSED
    assert rig.transitions[-1] == (OPEN, CLOSED, "reset by an operator")
    stale.failure("late")  # granted before the reset: ignored
    rig.fail(1)
    assert rig.breaker.state is CLOSED  # one failure after the reset, not a run of two
    rig.fail(1)
    assert rig.breaker.state is OPEN
    snap = rig.breaker.snapshot()
    assert snap.open_duration == rig.breaker.config.open_duration  # backoff started over


def test_reset_of_a_closed_circuit_reports_no_transition() -> None:
    rig = Rig()
    rig.breaker.reset()
    assert rig.transitions == []
