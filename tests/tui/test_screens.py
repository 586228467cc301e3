"""How `jairouter top` looks, pinned as SVG snapshots from fixed data at a fixed size: a
healthy router, a degraded one (a circuit open, an instance unhealthy), one that went away,
an instance's details, and the help. Update after a deliberate change with `--snapshot-update`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from jairouter.tui.app import TopApp
from tests.tui.fixed import fixed_app, snapshot

SIZE = (180, 40)
STEPS = range(6)

Compare = Callable[..., bool]


async def reached(pilot: Pilot[Any], condition: Callable[[], bool]) -> None:
    """Wait until `condition` holds and the screen has caught up; fail rather than pin a
    half-drawn screen when it never does."""
    for _ in range(3000):
        if condition():
            await pilot.pause()
            return
        await pilot.pause(0.01)
    raise AssertionError("the screen never reached the state to pin")


async def settled(app: TopApp, pilot: Pilot[Any], final: float) -> None:
    """Wait until the last fixed snapshot is on screen."""
    await reached(pilot, lambda: app.frame is not None and app.frame.uptime == final)


def test_normal(snap_compare: Compare) -> None:
    app = fixed_app([snapshot(step) for step in STEPS])

    async def ready(pilot: Pilot[Any]) -> None:
        await settled(app, pilot, snapshot(STEPS[-1])["uptime"])

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_degraded(snap_compare: Compare) -> None:
    app = fixed_app([snapshot(step, degraded=True) for step in STEPS])

    async def ready(pilot: Pilot[Any]) -> None:
        await settled(app, pilot, snapshot(STEPS[-1])["uptime"])

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_disconnected(snap_compare: Compare) -> None:
    app = fixed_app([snapshot(step) for step in STEPS], gone="ConnectError: connection refused")

    async def ready(pilot: Pilot[Any]) -> None:
        await settled(app, pilot, snapshot(STEPS[-1])["uptime"])
        await reached(pilot, lambda: app.disconnected is not None)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_instance_details(snap_compare: Compare) -> None:
    app = fixed_app([snapshot(step, degraded=True) for step in STEPS])

    async def ready(pilot: Pilot[Any]) -> None:
        await settled(app, pilot, snapshot(STEPS[-1])["uptime"])
        await pilot.press("slash", *"gpu-b", "enter", "enter")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_help(snap_compare: Compare) -> None:
    app = fixed_app([snapshot(step) for step in STEPS])

    async def ready(pilot: Pilot[Any]) -> None:
        await settled(app, pilot, snapshot(STEPS[-1])["uptime"])
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)
