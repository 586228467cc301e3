"""The screens `jairouter top` pushes over its table: an instance's details, and the
confirmation an instance action needs."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from jairouter.tui.cells import circuit, describe_limit, error_rate, health, number, sparkline
from jairouter.tui.data import Instance


class ConfirmScreen(ModalScreen[bool]):
    """Asks one yes/no question; dismisses with the answer."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Static { width: auto; max-width: 90%; border: thick $warning; padding: 1 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "yes"),
        Binding("n,escape", "answer(False)", "no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        yield Static(f"{self.question}\n\n[y] yes   [n] no", id="question")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class InstanceScreen(ModalScreen[None]):
    """One instance in full: its state, limits and latest failures, refreshed with each
    snapshot; the instance actions work from here too."""

    DEFAULT_CSS = """
    InstanceScreen { align: center middle; }
    InstanceScreen > Vertical {
        width: 90%; height: auto; max-height: 90%; border: round $accent; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "app.pop_screen", "close"),
        Binding("e", "app.act('enable')", "enable"),
        Binding("d", "app.act('disable')", "disable"),
        Binding("r", "app.act('reset')", "reset breaker"),
    ]

    def __init__(self, instance: Instance) -> None:
        super().__init__()
        self.instance = instance
        # made here, not queried: a snapshot may arrive before this screen is mounted
        self.details = Static(details(instance), id="details")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield self.details
        yield Footer()

    def show(self, instance: Instance) -> None:
        self.instance = instance
        self.details.update(details(instance))


def details(instance: Instance) -> Text:
    """The detail view's text: labelled lines, then limits, then the latest failures."""
    out = Text()
    out.append(f"{instance.model}", "bold")
    out.append(f"  in {instance.service}  at {instance.url}\n\n")
    fields = (
        ("health", health(instance, reason_width=None)),
        ("circuit", circuit(instance)),
        ("in-flight", number(instance.inflight, "d")),
        ("requests", number(instance.requests, "d")),
        ("req/s", number(instance.rps, ".1f")),
        ("p50 / p95 ms", Text(f"{_ms(instance.p50_ms)} / {_ms(instance.p95_ms)}")),
        ("ttft p50 ms", number(instance.ttft_ms, ".0f")),
        ("errors", error_rate(instance)),
        ("5xx/failed, 429", Text(f"{instance.errors}, {instance.throttled}")),
        ("weight", number(instance.weight, "g")),
    )
    for label, value in fields:
        out.append(f"{label:>16}  ")
        out.append_text(value)
        out.append("\n")
    out.append(f"{'req/s trend':>16}  {sparkline(instance.history, 60)}\n", "cyan")
    out.append("\nlimits\n", "bold")
    for lim in instance.limits:
        out.append(f"  {lim.scope} {lim.algorithm}: {describe_limit(lim)}\n")
    if not instance.limits:
        out.append("  none\n", "dim")
    out.append("\nrecent errors (newest first)\n", "bold")
    for error in reversed(instance.recent_errors):
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(error.at))
        out.append(f"  {stamp} UTC  {error.kind}: {error.detail}\n")
    if not instance.recent_errors:
        out.append("  none\n", "dim")
    return out


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"
