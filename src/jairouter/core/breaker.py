"""Circuit breaker per instance: stop sending requests to an instance that keeps failing.

    closed ──(N failures in a row, or failure rate ≥ threshold over the window)──▶ open
    open ──(open duration elapsed; noticed on the next look)──▶ half-open
    half-open ──(success_threshold trial successes)──▶ closed
    half-open ──(any trial failure)──▶ open, for longer (x backoff_multiplier, up to max)

Every request asks `allow()` for a `Trial` and settles it exactly once with `success()`,
`failure(why)` or `cancel()` (the client went away: nothing is learned about the instance).
While half-open only `half_open_trials` trials are out at once; others are refused. An outcome
is counted only in the state its trial was granted in: a request that began before the circuit
opened says nothing about the instance after it reopens for trials.

The window is time-based (`window` seconds, in ten buckets, so the oldest tenth expires at once):
the failure rate of a quiet instance reflects recent calls, not the last N whenever they were.
`classify` decides which outcomes are the instance's fault.

Single-threaded, like the limiters and balancers: the router drives it from one event loop, so
nothing is locked. `on_transition` runs once a call's changes are all made, so a hook may read
the breaker. The clock is injected (monotonic seconds) so tests control time.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from jairouter.config.resilience import CircuitBreakerConfig
from jairouter.errors import UpstreamError, UpstreamTimeout, UpstreamUnreachable

Clock = Callable[[], float]
"""Monotonic seconds, e.g. `time.monotonic`."""


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


# Bound once for `allow`: on Python 3.11 a member read off its enum class is an unspecialised
# lookup (~1k instructions), and every request asks.
_CLOSED, _OPEN, _HALF_OPEN = State.CLOSED, State.OPEN, State.HALF_OPEN

Transition = tuple[State, State, str]
"""(old, new, reason) of one state change."""
TransitionHook = Callable[[State, State, str], None]
"""`on_transition(old, new, reason)`, for logs and metrics; must not raise."""


class FailureKind(StrEnum):
    CONNECT = "connect"
    TIMEOUT = "timeout"
    SERVER_ERROR = "server error"
    THROTTLED = "throttled"
    STREAM_ERROR = "stream error"
    BAD_RESPONSE = "bad response"


@dataclass(frozen=True, slots=True)
class Failure:
    """Why one exchange counts against the instance."""

    kind: FailureKind
    detail: str

    @property
    def ejects(self) -> bool:
        """Whether outlier detection counts it: a 429 says "busy", not "broken" (as in Envoy)."""
        return self.kind is not FailureKind.THROTTLED

    def __str__(self) -> str:
        return self.detail


def classify(
    *,
    status: int | None = None,
    error: BaseException | None = None,
    stream_error: str | None = None,
) -> Failure | None:
    """The failure an exchange with an instance counts as, or None when it is not the instance's
    fault.

    Pass what is known: `error`, the exception that ended the exchange (jairouter.errors as
    mapped by the upstream client, or a builtin timeout/OS error); `stream_error`, the text of an
    error event found inside a 200 stream; `status`, the upstream's HTTP status. Connect errors,
    timeouts, broken replies, stream error events, 5xx and 429 are failures; other 4xx and the
    router's own errors (a bad request) are not. A client that went away is not an outcome at
    all: settle its trial with `cancel()`.
    """
    if error is not None:
        failure = _error_failure(error)
        if failure is not None:
            return failure
    if stream_error is not None:
        return Failure(FailureKind.STREAM_ERROR, f"error event in stream: {stream_error}")
    if status is not None:
        if status == 429:
            return Failure(FailureKind.THROTTLED, "HTTP 429")
        if status >= 500:
            return Failure(FailureKind.SERVER_ERROR, f"HTTP {status}")
    return None


def _error_failure(error: BaseException) -> Failure | None:
    text = str(error) or type(error).__name__
    # TimeoutError is an OSError: test it first.
    if isinstance(error, UpstreamTimeout | TimeoutError):
        return Failure(FailureKind.TIMEOUT, text)
    if isinstance(error, UpstreamUnreachable | OSError):
        return Failure(FailureKind.CONNECT, text)
    if isinstance(error, UpstreamError):
        return Failure(FailureKind.BAD_RESPONSE, text)
    # Anything else (a request the router refused itself, a bug in the router) never reached
    # the instance or is not its doing.
    return None


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """The breaker's state and counters at one moment, for a status API or `jairouter top`."""

    state: State
    since: float
    """Clock time the current state was entered."""
    retry_in: float
    """Seconds until trial requests go through; 0 unless open."""
    open_duration: float
    """Length of the current (or last) opening, in seconds; 0 if it never opened."""
    openings: int
    """Openings since the circuit last closed: the backoff step."""
    times_opened: int
    consecutive_failures: int
    window_calls: int
    window_failures: int
    trials_in_flight: int
    trial_successes: int
    reason: str
    """Why the last transition happened; "" before any."""

    @property
    def failure_rate(self) -> float | None:
        """Percentage of failed calls in the window; None when it is empty."""
        return 100 * self.window_failures / self.window_calls if self.window_calls else None


class _Window:
    """Calls and failures over roughly the last `span` seconds, counted in `BUCKETS` buckets."""

    BUCKETS = 10

    def __init__(self, span: float) -> None:
        self._width = span / self.BUCKETS
        self._buckets: deque[list[int]] = deque()  # [bucket index, calls, failures]
        self.calls = 0
        self.failures = 0

    def expire(self, now: float) -> None:
        self._expire(int(now // self._width))

    def _expire(self, index: int) -> None:
        oldest = index - self.BUCKETS + 1
        buckets = self._buckets
        while buckets and buckets[0][0] < oldest:
            _, calls, failures = buckets.popleft()
            self.calls -= calls
            self.failures -= failures

    def add(self, now: float, failed: bool) -> None:
        index = int(now // self._width)
        buckets = self._buckets
        if not buckets or buckets[-1][0] != index:
            # Buckets only age out when a new one begins: within one, nothing is left to expire.
            self._expire(index)
            buckets.append([index, 0, 0])
        bucket = buckets[-1]
        bucket[1] += 1
        bucket[2] += failed
        self.calls += 1
        self.failures += failed

    def clear(self) -> None:
        self._buckets.clear()
        self.calls = self.failures = 0


class Trial:
    """Permission for one request; settle it exactly once (later calls do nothing).

    `half_open` tells a trial request of a half-open circuit from an ordinary one.
    """

    __slots__ = ("_breaker", "done", "epoch", "half_open")

    def __init__(self, breaker: CircuitBreaker | None, epoch: int, half_open: bool) -> None:
        self._breaker = breaker
        self.epoch = epoch  # the breaker's state generation it was granted in
        self.half_open = half_open
        self.done = False

    def success(self) -> None:
        """The instance answered well."""
        self.record(None)

    def failure(self, why: Failure | str = "request failed") -> None:
        """The instance failed (see `classify`); `why` appears in transition reasons."""
        self.record(why)

    def cancel(self) -> None:
        """The request ended without a verdict on the instance (e.g. the client went away)."""
        self.record(None, True)

    def record(self, failure: Failure | str | None, cancelled: bool = False) -> None:
        """`success()` when `failure` is None, else `failure(failure)`: fits `classify`.
        The one the request path calls, so it settles without another call in between."""
        if self._breaker is None:
            self.done = True
        else:
            self._breaker._settle(self, failure, cancelled)


class CircuitBreaker:
    """The circuit breaker of one instance. See the module docstring for the state machine."""

    def __init__(
        self,
        config: CircuitBreakerConfig,
        *,
        clock: Clock = time.monotonic,
        on_transition: TransitionHook | None = None,
    ) -> None:
        self.config = config
        # What every request reads of the config, copied: a pydantic model's attributes are
        # slower to read than an object's own.
        self._enabled = config.enabled
        self._max_consecutive = config.consecutive_failures
        self._rate_threshold = config.failure_rate_threshold
        self._minimum_calls = config.minimum_calls
        self._clock = clock
        self._on_transition = on_transition
        self._pending: list[Transition] = []
        self._state = State.CLOSED
        self._epoch = 0  # bumped on every transition; trials of older epochs are ignored
        self._since = clock()
        self._reason = ""
        self._open_until = 0.0
        self._open_duration = 0.0
        self._openings = 0
        self._times_opened = 0
        self.transitions = dict.fromkeys(State, 0)  # times the circuit entered each state
        self._consecutive = 0
        self._window = _Window(config.window)
        self._trials = 0
        self._successes = 0

    # -- requests ---------------------------------------------------------------------------

    def allow(self) -> Trial | None:
        """A trial for one request, or None when the circuit refuses it (see `refusal()`)."""
        if not self._enabled:
            return Trial(None, 0, False)
        if self._state is _OPEN:  # the only state that changes by time alone
            self._advance(self._clock())
        if self._state is _CLOSED:
            trial: Trial | None = Trial(self, self._epoch, False)
        elif self._state is _HALF_OPEN and self._trials < self.config.half_open_trials:
            self._trials += 1
            trial = Trial(self, self._epoch, True)
        else:
            trial = None
        if self._pending:  # tested here rather than in _drain: nearly no request changes state
            self._emit(self._drain())
        return trial

    def _settle(self, trial: Trial, failure: Failure | str | None, cancelled: bool) -> None:
        if trial.done:
            return
        trial.done = True
        if trial.epoch != self._epoch:
            return  # granted in a state since left: its slot and verdict went with it
        now = self._clock()
        if trial.half_open:
            self._trials -= 1
            if not cancelled:
                self._trial_outcome(now, failure)
        elif not cancelled:
            self._closed_outcome(now, failure)
        if self._pending:
            self._emit(self._drain())

    def _trial_outcome(self, now: float, failure: Failure | str | None) -> None:
        if failure is not None:
            self._open(now, f"trial request failed: {failure}")
            return
        self._successes += 1
        if self._successes >= self.config.success_threshold:
            self._to(State.CLOSED, now, f"{self._successes} trial requests succeeded")
            self._openings = 0
            self._consecutive = 0
            self._window.clear()

    def _closed_outcome(self, now: float, failure: Failure | str | None) -> None:
        failed = failure is not None
        self._consecutive = self._consecutive + 1 if failed else 0
        self._window.add(now, failed)
        calls, failures = self._window.calls, self._window.failures
        if self._max_consecutive and self._consecutive >= self._max_consecutive:
            self._open(now, f"{self._consecutive} consecutive failures (last: {failure})")
        elif (
            self._rate_threshold
            and calls >= self._minimum_calls
            and failures * 100 >= self._rate_threshold * calls
        ):
            rate = 100 * failures / calls
            last = f" (last: {failure})" if failed else ""
            self._open(
                now,
                f"{rate:.0f}% of {calls} calls in the last {self.config.window:g}s failed{last}",
            )

    # -- transitions ------------------------------------------------------------------------

    def reset(self, reason: str = "reset by an operator") -> None:
        """Close the circuit now and forget past failures (e.g. once a server is fixed).

        Trials granted before stay harmless: their epoch is gone, so their outcome is ignored.
        """
        now = self._clock()
        if self._state is not State.CLOSED:
            self._to(State.CLOSED, now, reason)
        self._openings = 0
        self._consecutive = 0
        self._window.clear()
        events = self._drain()
        self._emit(events)

    def _open(self, now: float, why: str) -> None:
        cfg = self.config
        self._openings += 1
        if self._openings == 1:
            duration = cfg.open_duration
        else:  # grown step by step, so a long outage cannot overflow a power
            duration = min(self._open_duration * cfg.backoff_multiplier, cfg.max_open_duration)
        self._open_duration = duration
        self._open_until = now + duration
        self._times_opened += 1
        self._to(State.OPEN, now, f"{why}; open for {duration:g}s")

    def _advance(self, now: float) -> None:
        """Open → half-open once the open duration has passed; noticed lazily, when asked."""
        if self._state is State.OPEN and now >= self._open_until:
            self._to(State.HALF_OPEN, now, f"open for {self._open_duration:g}s, trying again")

    def _to(self, new: State, now: float, reason: str) -> None:
        self._pending.append((self._state, new, reason))
        self.transitions[new] += 1
        self._state = new
        self._since = now
        self._reason = reason
        self._epoch += 1
        self._trials = 0
        self._successes = 0

    def _drain(self) -> Sequence[Transition]:
        events = self._pending
        if not events:
            return ()  # nearly always: no list made per request
        self._pending = []
        return events

    def _emit(self, events: Sequence[Transition]) -> None:
        if self._on_transition is not None:
            for old, new, reason in events:
                self._on_transition(old, new, reason)

    # -- reading ----------------------------------------------------------------------------

    def snapshot(self) -> BreakerSnapshot:
        """The current state and counters (advancing open → half-open if it is time)."""
        now = self._clock()
        self._advance(now)
        self._window.expire(now)
        snap = BreakerSnapshot(
            state=self._state,
            since=self._since,
            retry_in=self._retry_in(now),
            open_duration=self._open_duration,
            openings=self._openings,
            times_opened=self._times_opened,
            consecutive_failures=self._consecutive,
            window_calls=self._window.calls,
            window_failures=self._window.failures,
            trials_in_flight=self._trials,
            trial_successes=self._successes,
            reason=self._reason,
        )
        events = self._drain()
        self._emit(events)
        return snap

    @property
    def state(self) -> State:
        return self.snapshot().state

    def available(self) -> bool:
        """Whether `allow()` would grant a trial now (without taking one)."""
        return self._grants(self.snapshot())

    def retry_in(self) -> float:
        """Seconds until the circuit lets trial requests through; 0 unless open."""
        return self.snapshot().retry_in

    def refusal(self) -> str | None:
        """Why `allow()` would refuse now, for a 503 message; None when it would grant."""
        snap = self.snapshot()
        if self._grants(snap):
            return None
        if snap.state is State.OPEN:
            return f"circuit open for {math.ceil(snap.retry_in)}s"
        return f"circuit half-open, {snap.trials_in_flight} trial requests in flight"

    def _grants(self, snap: BreakerSnapshot) -> bool:
        if snap.state is State.CLOSED:
            return True
        return (
            snap.state is State.HALF_OPEN and snap.trials_in_flight < self.config.half_open_trials
        )

    def _retry_in(self, now: float) -> float:
        return max(0.0, self._open_until - now) if self._state is State.OPEN else 0.0
