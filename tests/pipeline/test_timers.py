"""Coarse timers: never early, at most a tick late, disarmed ones never fire, idle stops ticking."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from jairouter.pipeline.timers import Timers

TICK = 0.005


class Recorder:
    def __init__(self, timers: Timers, rearm_in: float | None = None) -> None:
        self.timers = timers
        self.rearm_in = rearm_in
        self.slot = 0
        self.fired: list[float] = []

    def fire(self, now: float) -> None:
        self.fired.append(now)
        if self.rearm_in is not None and len(self.fired) < 3:
            self.timers.arm(self, now + self.rearm_in)


async def _until(condition: Callable[[], object]) -> None:
    """Polls `condition` every tick, for ten seconds at most (a loaded machine is slow)."""
    async with asyncio.timeout(10.0):
        for _ in range(int(10.0 / TICK) + 1):
            if condition():
                return
            await asyncio.sleep(TICK)


async def test_a_timer_fires_once_its_due_time_passed_never_before() -> None:
    timers = Timers(TICK)
    due = timers.loop.time() + 0.03
    timer = Recorder(timers)
    timers.arm(timer, due)
    await _until(lambda: timer.fired)
    assert len(timer.fired) == 1
    assert timer.fired[0] >= due


async def test_a_disarmed_timer_never_fires_and_ticking_stops_when_nothing_is_armed() -> None:
    timers = Timers(TICK)
    kept, dropped = Recorder(timers), Recorder(timers)
    now = timers.loop.time()
    timers.arm(dropped, now + 0.01)
    timers.arm(kept, now + 0.02)
    timers.disarm(dropped)
    await _until(lambda: kept.fired)
    await _until(lambda: timers._handle is None)
    assert dropped.fired == []


async def test_a_timer_can_re_arm_itself_when_it_fires() -> None:
    timers = Timers(TICK)
    timer = Recorder(timers, rearm_in=0.01)
    timers.arm(timer, timers.loop.time())
    await _until(lambda: len(timer.fired) == 3)
    assert timer.fired == sorted(timer.fired)
    assert timer.fired[2] - timer.fired[1] >= 0.01


async def test_after_an_idle_spell_ticking_restarts_from_the_present() -> None:
    timers = Timers(TICK)
    first = Recorder(timers)
    timers.arm(first, timers.loop.time())
    await _until(lambda: timers._handle is None)
    await asyncio.sleep(0.05)  # idle: no tick runs
    second = Recorder(timers)
    due = timers.loop.time() + 0.01
    timers.arm(second, due)
    await _until(lambda: second.fired)
    assert second.fired[0] >= due


async def test_buckets_emptied_long_before_their_slot_are_let_go() -> None:
    timers = Timers(TICK)
    far = [Recorder(timers) for _ in range(100)]
    due = timers.loop.time() + 60  # like a watchdog armed for its idle timeout
    for timer in far:
        timers.arm(timer, due)
    for timer in far:
        timers.disarm(timer)  # the requests ended at once
    await _until(lambda: timers._handle is None)  # nothing left to tick for
    assert timers._buckets == {}
    assert all(timer.fired == [] for timer in far)
