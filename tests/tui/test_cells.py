"""Cells read without colour: words and symbols for states, bars and sparklines of text."""

from __future__ import annotations

import pytest

from jairouter.tui.cells import describe_limit, limit, sparkline
from jairouter.tui.data import Limit


@pytest.mark.parametrize(
    ("samples", "width", "expected"),
    [
        ([], 12, ""),
        ([0.0, 0.0], 12, "▁▁"),
        ([1.0, 2.0, 4.0, 8.0], 12, "▂▃▅█"),  # scaled to the maximum, 0 at the bottom
        ([0.0, 8.0], 12, "▁█"),
        ([1.0] * 24, 12, "█" * 12),  # two samples per character
        ([0.0] * 12 + [8.0] * 12, 6, "▁▁▁███"),
    ],
)
def test_sparkline(samples: list[float], width: int, expected: str) -> None:
    assert sparkline(samples, width) == expected


def bucket(available: float | None, capacity: float | None = 100.0, **kw: object) -> Limit:
    fields = {"scope": "instance", "unit": "requests", "algorithm": "token-bucket", "keys": None}
    fields.update(kw)
    return Limit(capacity=capacity, available=available, **fields)  # type: ignore[arg-type]


def test_a_limit_shows_what_is_left_with_a_bar() -> None:
    assert describe_limit(bucket(37.5)) == "███░░░░░ 38/100 req"
    assert describe_limit(bucket(0.0, unit="tokens")) == "░░░░░░░░ 0/100 tok"
    keyed = bucket(None, None, scope="client", keys=12)
    assert describe_limit(keyed) == "client: 12 keys"


def test_the_tightest_limit_is_the_one_shown() -> None:
    cell = limit([bucket(90.0), bucket(5.0, 10.0), bucket(None, None, scope="client", keys=3)])
    assert cell.plain == "████░░░░ 5/10 req +2"
    assert limit([]).plain == "-"
