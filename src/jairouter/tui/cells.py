"""How instances and services read in the tables: words and symbols first, colour only as
emphasis, so the screen still reads on a terminal without colour."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rich.text import Text

from jairouter.tui.data import Instance, Limit, Service

Row = TypeVar("Row", Instance, Service)

SPARKS = "▁▂▃▄▅▆▇█"
TREND_WIDTH = 12
BAR_WIDTH = 8


class Cell(Text):
    """A styled cell that remembers the plain value it sorts by."""

    def __init__(self, text: str, sort_key: Any, style: str = "") -> None:
        super().__init__(text, style=style)
        self.sort_key = sort_key


@dataclass(frozen=True)
class Column(Generic[Row]):
    key: str
    label: str
    render: Callable[[Row], Cell]
    ascending: bool = False  # numbers sort largest first, text A to Z


def number(value: float | None, fmt: str) -> Cell:
    if value is None:
        return Cell("-", -1.0)
    return Cell(format(value, fmt), value)


def text(value: str) -> Cell:
    return Cell(value, value)


def health(instance: Instance, reason_width: int | None = 20) -> Cell:
    """Health in words; the table cuts a long unhealthy reason (the details show it whole)."""
    if not instance.enabled:
        return Cell("⊘ disabled", 4, "dim")
    if instance.ejected:
        return Cell("✗ ejected", 2, "bold red")
    if instance.healthy is None:
        return Cell("? unprobed", 1, "dim")
    if instance.healthy:
        return Cell("✓ healthy", 0, "green")
    reason = instance.health_reason or ""
    if reason_width is not None and len(reason) > reason_width:
        reason = reason[: reason_width - 1] + "…"
    reason = f": {reason}" if reason else ""
    return Cell(f"✗ unhealthy{reason}", 3, "bold red")


def circuit(instance: Instance) -> Cell:
    if instance.circuit == "open":
        return Cell(f"○ open {instance.circuit_retry_in:.0f}s", 2, "bold red")
    if instance.circuit == "half-open":
        return Cell("◐ half-open", 1, "yellow")
    if instance.circuit == "closed":
        return Cell("● closed", 0, "green")
    return Cell(instance.circuit, -1)


def error_rate(instance: Instance) -> Cell:
    rate = instance.error_rate
    if rate is None:
        return Cell("-", -1.0)
    style = "red" if rate >= 0.05 else "yellow" if rate > 0 else ""
    return Cell(f"{rate:.1%}", rate, style)


def sparkline(samples: Sequence[float], width: int = TREND_WIDTH) -> str:
    """`samples`, oldest first, as at most `width` block characters (each the mean of an equal
    slice), scaled to their maximum; blank before there are samples."""
    if not samples:
        return ""
    size = -(-len(samples) // width)  # samples per character, rounded up
    means = [
        sum(samples[i : i + size]) / len(samples[i : i + size])
        for i in range(0, len(samples), size)
    ]
    top = max(means)
    if top <= 0:
        return SPARKS[0] * len(means)
    steps = len(SPARKS) - 1
    return "".join(SPARKS[round(mean / top * steps)] for mean in means)


def trend(instance: Instance) -> Cell:
    return Cell(sparkline(instance.history), instance.rps or 0.0, "cyan")


def bar(share: float, width: int = BAR_WIDTH) -> str:
    filled = round(share * width)
    return "█" * filled + "░" * (width - filled)


def limit(limits: Sequence[Limit]) -> Cell:
    """The tightest limit: what is left of its capacity, with a bar; `+N` more limits.
    Sorting ascending puts the emptiest first: shares left 0..1, then keyed limits (no single
    figure, 1.5), then instances without limits (2)."""
    if not limits:
        return Cell("-", 2.0)
    known = [lim for lim in limits if lim.left is not None]
    tightest = min(known, key=lambda lim: lim.left or 0.0) if known else limits[0]
    more = f" +{len(limits) - 1}" if len(limits) > 1 else ""
    return Cell(
        describe_limit(tightest) + more,
        tightest.left if tightest.left is not None else 1.5,
        _limit_style(tightest.left),
    )


def describe_limit(lim: Limit) -> str:
    unit = "req" if lim.unit == "requests" else "tok"
    if lim.left is None or lim.available is None or lim.capacity is None:
        keys = f"{lim.keys} keys" if lim.keys is not None else "per key"
        return f"{lim.scope}: {keys}"
    return f"{bar(lim.left)} {lim.available:.0f}/{lim.capacity:.0f} {unit}"


def _limit_style(left: float | None) -> str:
    if left is None:
        return ""
    return "bold red" if left < 0.1 else "yellow" if left < 0.3 else ""


INSTANCE_COLUMNS: tuple[Column[Instance], ...] = (
    Column("service", "service", lambda i: text(i.service), ascending=True),
    Column("model", "model", lambda i: text(i.model), ascending=True),
    Column("url", "url", lambda i: text(i.url), ascending=True),
    Column("health", "health", health),
    Column("circuit", "circuit", circuit),
    Column("inflight", "in-flight", lambda i: number(i.inflight if i.enabled else None, "d")),
    Column("rps", "req/s", lambda i: number(i.rps, ".1f")),
    Column("trend", "req/s trend", trend),
    Column("p50", "p50 ms", lambda i: number(i.p50_ms, ".0f")),
    Column("p95", "p95 ms", lambda i: number(i.p95_ms, ".0f")),
    Column("ttft", "ttft ms", lambda i: number(i.ttft_ms, ".0f")),
    Column("errors", "errors", error_rate),
    Column("weight", "weight", lambda i: number(i.weight if i.enabled else None, "g")),
    Column("limits", "limit left", lambda i: limit(i.limits), ascending=True),
)

SERVICE_COLUMNS: tuple[Column[Service], ...] = (
    Column("service", "service", lambda s: text(s.name)),
    Column("strategy", "strategy", lambda s: text(s.strategy)),
    Column("serving", "serving", lambda s: _serving(s)),
    Column("inflight", "in-flight", lambda s: number(s.inflight, "d")),
    Column("rps", "req/s", lambda s: number(s.rps, ".1f")),
    Column("requests", "requests", lambda s: number(s.requests, "d")),
    Column("errors", "5xx/failed", lambda s: number(s.errors, "d")),
    Column("rate_limited", "429 by limits", lambda s: number(s.rate_limited, "d")),
    Column("limits", "limit left", lambda s: limit(s.limits)),
)


def _serving(service: Service) -> Cell:
    style = (
        "bold red"
        if service.serving == 0 and service.instances
        else ("yellow" if service.serving < service.instances else "")
    )
    return Cell(f"{service.serving}/{service.instances}", service.serving, style)


def sort_key(cell: object) -> Any:
    """The key `DataTable.sort` uses: a cell's plain value (text sorts case-insensitively)."""
    value = getattr(cell, "sort_key", str(cell))
    return value.lower() if isinstance(value, str) else value
