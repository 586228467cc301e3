"""The exchange watchdog: its own expiry becomes a timeout, anyone else's cancellation stays one."""

from __future__ import annotations

import asyncio

import pytest

from jairouter.errors import UpstreamTimeout
from jairouter.pipeline.timers import Timers
from jairouter.pipeline.watchdog import FIRST_BYTE, TOTAL, Watchdog


async def _wait_headers(
    first_byte: float | None,
    total: float | None,
    timers: Timers | None = None,
    made: list[Watchdog] | None = None,
) -> Watchdog:
    """Waits for headers that never come, as `Pipeline._open` does, until a timeout claims it;
    the watchdog goes into `made` for a test to look at."""
    watchdog = Watchdog(timers or Timers(tick=0.005), "m@upstream", first_byte, None, total)
    if made is not None:
        made.append(watchdog)
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError as cancelled:
        timeout = watchdog.claims(cancelled)
        if timeout is None:
            raise
        raise timeout from None
    finally:
        watchdog.stop()
    raise AssertionError("unreachable")


async def test_first_byte_expiry_is_a_timeout_and_leaves_the_task_uncancelled() -> None:
    task = asyncio.create_task(_wait_headers(first_byte=0.01, total=None))
    with pytest.raises(UpstreamTimeout, match=r"no response within timeouts\.first_byte"):
        await task
    assert task.cancelling() == 0


async def test_the_earlier_of_first_byte_and_total_is_the_one_reported() -> None:
    with pytest.raises(UpstreamTimeout, match=rf"exceeded timeouts\.{TOTAL}"):
        await _wait_headers(first_byte=30, total=0.01)
    with pytest.raises(UpstreamTimeout, match=rf"timeouts\.{FIRST_BYTE}"):
        await _wait_headers(first_byte=0.01, total=30)


async def test_a_cancellation_from_elsewhere_is_not_swallowed() -> None:
    task = asyncio.create_task(_wait_headers(first_byte=30, total=None))
    await asyncio.sleep(0)
    task.cancel()  # e.g. the client disconnected
    with pytest.raises(asyncio.CancelledError):
        await task


class Canceller:
    """Cancels a task from the same timer tick as a watchdog due at the same time."""

    def __init__(self, task: asyncio.Task[Watchdog]) -> None:
        self.task = task
        self.slot = 0

    def fire(self, now: float) -> None:
        self.task.cancel()  # e.g. the client disconnected


async def test_a_cancellation_racing_the_expiry_still_cancels() -> None:
    """The watchdog and someone else cancel in the same loop turn: the task stays cancelled."""
    tick = 0.005
    timers = Timers(tick)
    made: list[Watchdog] = []

    task = asyncio.create_task(_wait_headers(0.02, None, timers, made))
    await asyncio.sleep(0)
    timers.arm(Canceller(task), (made[0].slot - 0.5) * tick)  # the watchdog's own slot
    with pytest.raises(asyncio.CancelledError):
        await task
    assert made[0].expired == FIRST_BYTE


async def test_no_timeouts_set_arms_no_timer() -> None:
    timers = Timers()
    watchdog = Watchdog(timers, "m@upstream", None, None, None)
    assert not timers._buckets
    watchdog.stop()
