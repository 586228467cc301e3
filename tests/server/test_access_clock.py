"""The access log's timestamps: ISO-8601 UTC with milliseconds, whatever is cached."""

from __future__ import annotations

from jairouter.server.access_log import Clock


class Wall:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_stamps_are_utc_with_milliseconds() -> None:
    wall = Wall(1_700_000_000.0071)
    clock = Clock(wall)
    assert clock.now() == "2023-11-14T22:13:20.007Z"
    wall.now = 1_700_000_000.9999
    assert clock.now() == "2023-11-14T22:13:20.999Z"


def test_a_millisecond_shares_its_stamp_and_the_next_one_does_not() -> None:
    wall = Wall(1_700_000_000.1234)
    clock = Clock(wall)
    first = clock.now()
    wall.now = 1_700_000_000.1236
    assert clock.now() is first
    wall.now = 1_700_000_000.1241
    assert clock.now() == "2023-11-14T22:13:20.124Z"


def test_the_date_part_follows_the_second_across_midnight() -> None:
    wall = Wall(1_700_006_399.9995)  # the last millisecond of 2023-11-14, UTC
    clock = Clock(wall)
    assert clock.now() == "2023-11-14T23:59:59.999Z"
    wall.now = 1_700_006_400.0004
    assert clock.now() == "2023-11-15T00:00:00.000Z"
