"""Coarse timers for the request path: one event-loop timer for all of them.

uvloop's `call_at` and `cancel` cost ~3.7 µs together, and a request needs two timers (its
exchange's watchdog, and the lazily started disconnect watcher) that it nearly always cancels.
Here arming is a set insertion into the bucket of its due time, rounded up to a tick, and
disarming a set removal; while anything is armed, one loop timer per tick runs what fell due.
A timer fires at most one tick late, never early.
"""

from __future__ import annotations

import asyncio
import math
from typing import Protocol

TICK = 0.025  # seconds
# Ticks between sweeps of emptied buckets. A request's watchdog is armed minutes ahead (the
# idle timeout) and disarmed within moments: left in place, the emptied bucket of every tick
# would keep its grown table until its slot passes, megabytes under load.
SWEEP_TICKS = 40


class Timed(Protocol):
    """Something to call back once its due time passed; `slot` belongs to the Timers."""

    slot: int

    def fire(self, now: float) -> None: ...


class Timers:
    """Made inside the running loop (the server's lifespan), which they tick on; `loop` is a
    plain attribute because every request reads it."""

    __slots__ = ("_buckets", "_done", "_handle", "_next_sweep", "_tick", "loop")

    def __init__(self, tick: float = TICK) -> None:
        self.loop = asyncio.get_running_loop()
        self._tick = tick
        self._buckets: dict[int, set[Timed]] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._done = math.floor(self.loop.time() / tick)  # every slot up to this one has run
        self._next_sweep = 0  # the slot after which emptied buckets are dropped

    def arm(self, timer: Timed, due: float) -> None:
        """Call `timer.fire` once the loop's time has passed `due` (unless disarmed first)."""
        if self._handle is None:  # idle until now: start ticking from the present slot
            loop = self.loop
            self._done = max(self._done, math.floor(loop.time() / self._tick))
            self._handle = loop.call_at((self._done + 1) * self._tick, self._run)
        slot = math.ceil(due / self._tick)
        if slot <= self._done:  # due already: the next tick (a comparison: cheaper than max())
            slot = self._done + 1
        bucket = self._buckets.get(slot)
        if bucket is None:
            bucket = self._buckets[slot] = set()
        bucket.add(timer)
        timer.slot = slot

    def disarm(self, timer: Timed) -> None:
        bucket = self._buckets.get(timer.slot)
        if bucket is not None:
            bucket.discard(timer)

    def _run(self) -> None:
        loop = self.loop
        now = loop.time()
        current = math.floor(now / self._tick)
        buckets = self._buckets
        for slot in range(self._done + 1, current + 1):
            self._done = slot  # before firing, so that a re-armed timer lands in a later slot
            bucket = buckets.pop(slot, None)
            if bucket:
                for timer in bucket:
                    timer.fire(now)
        self._done = max(self._done, current)
        if current >= self._next_sweep:
            self._next_sweep = current + SWEEP_TICKS
            for slot in [slot for slot, bucket in buckets.items() if not bucket]:
                del buckets[slot]
        if buckets:
            self._handle = loop.call_at((self._done + 1) * self._tick, self._run)
        else:
            self._handle = None
