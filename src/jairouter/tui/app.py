"""The `jairouter top` screen: a header, a banner while disconnected, a services table and
one row per instance.

A single exclusive worker follows the router's snapshots (its status stream, or polling) and
reconnects by itself; tables are updated cell by cell so nothing flickers.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar, Literal

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Input, Static

from jairouter.tui.cells import INSTANCE_COLUMNS, SERVICE_COLUMNS, Cell, Column, Row, sort_key
from jairouter.tui.data import Frame, Instance, Shaper
from jairouter.tui.screens import ConfirmScreen, InstanceScreen
from jairouter.tui.source import ActionFailed, Disconnected, Snapshot, Source

Action = Literal["enable", "disable", "reset"]
ACTIONS: dict[Action, tuple[str, str]] = {
    "enable": ("/admin/instances/enable", "Send traffic to {name} again?"),
    "disable": ("/admin/instances/disable", "Disable {name}? It gets no traffic until enabled."),
    "reset": ("/admin/breakers/reset", "Close the circuit of {name} now?"),
}

INSTANCE_KEYS = [column.key for column in INSTANCE_COLUMNS]

HELP = """\
q quit   p pause/resume   ? this help
s / S  sort by the next / previous column (or click a heading)   o  flip the order
/  filter by text (Enter or Esc closes)   f  show one service, then the next, then all
Enter  details and recent errors of the selected instance
e enable   d disable   r reset circuit breaker   (each asks y/n first)
health: ✓ healthy  ✗ unhealthy / ejected  ? unprobed  ⊘ disabled
circuit: ● closed  ◐ half-open  ○ open (seconds until half-open)
limit left: the tightest limit's bar of what is left, e.g. ███░░░░░ 37/100 req"""


class TopApp(App[None]):
    """Live view of one router's status."""

    TITLE = "jairouter top"
    CSS = """
    #header { height: auto; padding: 0 1; }
    #banner { display: none; background: $error; color: $text; padding: 0 1; }
    #banner.shown { display: block; }
    #message { height: auto; padding: 0 1; }
    #help { display: none; border: round $accent; padding: 0 1; height: auto; }
    #help.shown { display: block; }
    #filter { display: none; }
    #filter.shown { display: block; }
    #services { height: auto; max-height: 8; margin-bottom: 1; }
    #instances { height: 1fr; }
    .stale { opacity: 50%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit"),
        Binding("p", "pause", "pause"),
        Binding("s", "sort(1)", "sort"),
        Binding("S", "sort(-1)", "sort back", show=False),
        Binding("o", "flip", "order", show=False),
        Binding("slash", "filter", "filter"),
        Binding("f", "next_service", "service"),
        Binding("enter", "details", "details", show=False),
        Binding("e", "act('enable')", "enable"),
        Binding("d", "act('disable')", "disable"),
        Binding("r", "act('reset')", "reset breaker"),
        Binding("question_mark", "help", "help"),
        Binding("escape", "close_filter", show=False),
    ]

    def __init__(self, source: Source, interval: float = 1.0, shaper: Shaper | None = None) -> None:
        super().__init__()
        self.source = source
        self.interval = interval
        self.shaper = shaper or Shaper()
        self.paused = False
        self.filter_text = ""
        self.service_filter: str | None = None
        self.sort_index = INSTANCE_KEYS.index("rps")
        self.reverse = False
        self.frame: Frame | None = None
        self.disconnected: str | None = None

    def compose(self) -> ComposeResult:
        # kept as attributes: App.query_one searches only the active screen, and snapshots
        # keep coming while the details or a confirmation are on top
        self.header = Static("connecting to " + self.source.url, id="header")
        self.banner = Static("", id="banner")
        self.message = Static("", id="message")
        self.help = Static(HELP, id="help")
        self.filter = Input(placeholder="filter: service, model, url…", id="filter")
        self.services: DataTable[Cell] = DataTable(id="services", cursor_type="none")
        self.instances: DataTable[Cell] = DataTable(
            id="instances", cursor_type="row", zebra_stripes=True
        )
        yield from (self.header, self.banner, self.message, self.help, self.filter)
        yield from (self.services, self.instances, Footer())

    def on_mount(self) -> None:
        for table, columns in (
            (self.services, SERVICE_COLUMNS),
            (self.instances, INSTANCE_COLUMNS),
        ):
            for column in columns:
                table.add_column(column.label, key=column.key)
        self.instances.focus()
        self.follow()

    async def on_unmount(self) -> None:
        self.workers.cancel_group(self, "follow")
        await self.source.aclose()

    @work(exclusive=True, group="follow")
    async def follow(self) -> None:
        """Show snapshots as they come; on a disconnect say so and try again each interval."""
        while True:
            try:
                async for snapshot in self.source.snapshots(self.interval):
                    self.receive(snapshot)
            except Disconnected as exc:
                self.show_disconnected(exc.reason)
            await asyncio.sleep(self.interval)

    def receive(self, snapshot: Snapshot) -> None:
        # one that arrives after the user paused must not move the frozen view
        if not self.paused:
            self.show(self.shaper.shape(snapshot))

    def show(self, frame: Frame) -> None:
        self.frame = frame
        if self.disconnected is not None:
            self.disconnected = None
            self.banner.remove_class("shown")
            for widget in (self.services, self.instances, self.header):
                widget.remove_class("stale")
        self.render_header()
        self.render_rows()
        if isinstance(self.screen, InstanceScreen):
            shown = self._instance(self.screen.instance.key)
            if shown is not None:
                self.screen.show(shown)

    def show_disconnected(self, reason: str) -> None:
        self.disconnected = reason
        self.shaper.forget()
        self.banner.update(
            f"✗ disconnected from {self.source.url}: {reason} "
            f"(showing the last data; reconnecting every {self.interval:g}s)"
        )
        self.banner.add_class("shown")
        for widget in (self.services, self.instances, self.header):
            widget.add_class("stale")

    def render_header(self) -> None:
        frame = self.frame
        if frame is None:
            return
        line = Text()
        line.append(f"jairouter {frame.version}", "bold")
        line.append(f"  up {_duration(frame.uptime)}")
        if frame.workers is not None:  # a router from before the count does not say
            line.append(f"  {frame.workers} worker{'' if frame.workers == 1 else 's'}")
        line.append(f"  config v{frame.generation if frame.generation is not None else '-'}")
        total = "-" if frame.total_rps is None else f"{frame.total_rps:.1f}"
        line.append(f"  {total} req/s")
        line.append(f"  429: {frame.throttled}", "yellow" if frame.throttled else "")
        line.append(f"  5xx/failed: {frame.failed}", "red" if frame.failed else "")
        order = "▲" if self._ascending() else "▼"
        line.append(f"  sort: {INSTANCE_COLUMNS[self.sort_index].label} {order}")
        if self.service_filter:
            line.append(f"  service: {self.service_filter}")
        if self.filter_text:
            line.append(f"  filter: {self.filter_text!r}")
        if self.paused:
            line.append("  ‖ PAUSED", "bold yellow")
        if frame.reload_error:
            line.append(f"\nreload error: {frame.reload_error}", "bold red")
        self.header.update(line)

    def render_rows(self) -> None:
        if self.frame is None:
            return
        shown = {s.name: s for s in self.frame.services if self._service_shown(s.name)}
        _sync(self.services, SERVICE_COLUMNS, shown)
        wanted = {
            i.key: i
            for i in self.frame.instances
            if self._service_shown(i.service) and i.matches(self.filter_text)
        }
        table = self.instances
        selected = self._selected_key()
        _sync(table, INSTANCE_COLUMNS, wanted)
        column = INSTANCE_COLUMNS[self.sort_index].key
        table.sort(column, key=sort_key, reverse=not self._ascending())
        # the cursor stays on its instance while rows move around it
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected), animate=False)

    def _service_shown(self, name: str) -> bool:
        return self.service_filter is None or self.service_filter == name

    def _ascending(self) -> bool:
        return INSTANCE_COLUMNS[self.sort_index].ascending != self.reverse

    def _instance(self, key: str) -> Instance | None:
        frame = self.frame
        return next((i for i in frame.instances if i.key == key), None) if frame else None

    def selected(self) -> Instance | None:
        """The instance under the cursor (on the details screen, the one it shows)."""
        if isinstance(self.screen, InstanceScreen):
            return self.screen.instance
        key = self._selected_key()
        return self._instance(key) if key is not None else None

    def _selected_key(self) -> str | None:
        table = self.instances
        if not table.is_valid_coordinate(table.cursor_coordinate):
            return None  # no rows (all filtered out, or none yet)
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.render_header()

    def action_sort(self, step: int) -> None:
        self.sort_index = (self.sort_index + step) % len(INSTANCE_COLUMNS)
        self.reverse = False
        self._resort()

    def action_flip(self) -> None:
        self.reverse = not self.reverse
        self._resort()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if event.data_table is self.instances:
            index = INSTANCE_KEYS.index(str(event.column_key.value))
            self.reverse = not self.reverse if index == self.sort_index else False
            self.sort_index = index
            self._resort()

    def _resort(self) -> None:
        self.render_header()
        self.render_rows()

    def action_next_service(self) -> None:
        names = [s.name for s in self.frame.services] if self.frame else []
        if self.service_filter in names:
            at = names.index(self.service_filter) + 1
            self.service_filter = names[at] if at < len(names) else None
        else:
            self.service_filter = names[0] if names else None
        self._resort()

    def action_help(self) -> None:
        self.help.toggle_class("shown")

    def action_filter(self) -> None:
        self.filter.add_class("shown")
        self.filter.focus()

    def action_close_filter(self) -> None:
        self.filter.remove_class("shown")
        self.instances.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self._resort()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_close_filter()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table is self.instances:
            self.action_details()

    def action_details(self) -> None:
        instance = self.selected()
        if instance is not None and len(self.screen_stack) == 1:  # not over another dialog
            self.push_screen(InstanceScreen(instance))

    def action_act(self, action: Action) -> None:
        """Ask, then send an instance action for the selected instance."""
        instance = self.selected()
        if instance is None:
            self.notify("no instance selected", severity="warning")
            return
        path, question = ACTIONS[action]
        name = f"{instance.model} at {instance.url} in {instance.service}"

        def answered(yes: bool | None) -> None:
            if yes:
                self.send(action, path, instance, name)

        self.push_screen(ConfirmScreen(question.format(name=name)), answered)

    @work(group="actions")
    async def send(self, action: Action, path: str, instance: Instance, name: str) -> None:
        message = self.message
        message.update(f"{action} {name}: sending…")
        try:
            await self.source.act(path, instance.ref)
        except ActionFailed as exc:
            message.update(Text(f"✗ {action} failed: {exc}", "bold red"))
            return
        message.update(f"✓ {action} {name}: done")


def _sync(table: DataTable[Cell], columns: tuple[Column[Row], ...], rows: dict[str, Row]) -> None:
    """Bring `table` to `rows`: update changed cells only; add and remove whole rows only
    when they appear, disappear or leave the filter."""
    for key in [row.value for row in table.rows if row.value not in rows]:
        if key is not None:
            table.remove_row(key)
    for key, row in rows.items():
        cells = [column.render(row) for column in columns]
        if key not in table.rows:
            table.add_row(*cells, key=key)
            continue
        for column, old, new in zip(columns, table.get_row(key), cells, strict=True):
            if str(old) != new.plain or getattr(old, "style", None) != new.style:
                table.update_cell(key, column.key, new)


def _duration(seconds: float) -> str:
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}d {clock}" if days else clock
