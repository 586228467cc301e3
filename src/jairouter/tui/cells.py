"""How an `Instance` reads in the table: words first, colour only as emphasis."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from jairouter.tui.data import Instance


class Cell(Text):
    """A styled cell that remembers the plain value it sorts by."""

    def __init__(self, text: str, sort_key: Any, style: str = "") -> None:
        super().__init__(text, style=style)
        self.sort_key = sort_key


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    render: Callable[[Instance], Cell]


def _number(value: float | None, fmt: str) -> Cell:
    if value is None:
        return Cell("-", -1.0)
    return Cell(format(value, fmt), value)


def health(instance: Instance) -> Cell:
    if instance.ejected:
        return Cell("ejected", 2, "bold red")
    if instance.healthy is None:
        return Cell("unprobed", 1, "dim")
    if instance.healthy:
        return Cell("healthy", 0, "green")
    reason = f": {instance.health_reason}" if instance.health_reason else ""
    return Cell(f"unhealthy{reason}", 3, "bold red")


def circuit(instance: Instance) -> Cell:
    if instance.circuit == "open":
        return Cell(f"open ({instance.circuit_retry_in:.0f}s)", 2, "bold red")
    if instance.circuit == "half-open":
        return Cell("half-open", 1, "yellow")
    return Cell(instance.circuit, 0, "green" if instance.circuit == "closed" else "")


def error_rate(instance: Instance) -> Cell:
    rate = instance.error_rate
    if rate is None:
        return Cell("-", -1.0)
    style = "red" if rate >= 0.05 else "yellow" if rate > 0 else ""
    return Cell(f"{rate:.1%}", rate, style)


COLUMNS: tuple[Column, ...] = (
    Column("service", "service", lambda i: Cell(i.service, i.service)),
    Column("model", "model", lambda i: Cell(i.model, i.model)),
    Column("url", "url", lambda i: Cell(i.url, i.url)),
    Column("health", "health", health),
    Column("circuit", "circuit", circuit),
    Column("inflight", "in-flight", lambda i: Cell(str(i.inflight), i.inflight)),
    Column("rps", "req/s", lambda i: _number(i.rps, ".1f")),
    Column("p50", "p50 ms", lambda i: _number(i.p50_ms, ".0f")),
    Column("p95", "p95 ms", lambda i: _number(i.p95_ms, ".0f")),
    Column("errors", "errors", error_rate),
    Column("weight", "weight", lambda i: _number(i.weight, "g")),
)


def sort_key(cell: object) -> Any:
    """The key `DataTable.sort` uses: a cell's plain value (text sorts case-insensitively)."""
    value = getattr(cell, "sort_key", str(cell))
    return value.lower() if isinstance(value, str) else value
