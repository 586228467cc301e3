"""The `jairouter top` screen: a header, a banner when disconnected, and one row per instance.

Polling runs in an exclusive worker on a `set_interval` timer; the table is updated cell by
cell so it never flickers.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Input, Static

from jairouter.tui.cells import COLUMNS, Cell, sort_key
from jairouter.tui.data import Disconnected, Frame, Instance, Shaper, StatusSource

HELP = """\
q  quit            p  pause / resume
s  next sort column   /  filter rows (Enter or Esc to close)
?  show / hide this help
health: healthy, unhealthy (red), ejected (red), unprobed
circuit: closed, half-open (yellow), open (red, seconds until half-open)"""

TEXT_COLUMNS = frozenset({"service", "model", "url"})


class TopApp(App[None]):
    """Live view of one router's GET /admin/status."""

    TITLE = "jairouter top"
    CSS = """
    #header { height: auto; padding: 0 1; }
    #banner { display: none; background: $error; color: $text; padding: 0 1; }
    #banner.shown { display: block; }
    #help { display: none; border: round $accent; padding: 0 1; height: auto; }
    #help.shown { display: block; }
    #filter { display: none; }
    #filter.shown { display: block; }
    DataTable { height: 1fr; }
    DataTable.stale { opacity: 50%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit"),
        Binding("p", "pause", "pause"),
        Binding("s", "sort", "sort"),
        Binding("slash", "filter", "filter"),
        Binding("question_mark", "help", "help"),
        Binding("escape", "close_filter", show=False),
    ]

    def __init__(self, source: StatusSource, interval: float = 1.0) -> None:
        super().__init__()
        self.source = source
        self.interval = interval
        self.shaper = Shaper()
        self.paused = False
        self.filter_text = ""
        self.sort_index = 0
        self.frame: Frame | None = None
        self.disconnected: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("connecting to " + self.source.url, id="header")
        yield Static("", id="banner")
        yield Static(HELP, id="help")
        yield Input(placeholder="filter: service, model, url…", id="filter")
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in COLUMNS:
            table.add_column(column.label, key=column.key)
        table.focus()
        self.poll()
        self.set_interval(self.interval, self.poll)

    async def on_unmount(self) -> None:
        self.workers.cancel_group(self, "poll")
        await self.source.aclose()

    def poll(self) -> None:
        if not self.paused:
            self.fetch()

    @work(exclusive=True, group="poll")
    async def fetch(self) -> None:
        # an answer that arrives while the app shuts down has no screen left to draw on;
        # one that arrives after the user paused must not move the frozen view
        try:
            snapshot = await self.source.fetch()
        except Disconnected as exc:
            if self.is_running:
                self.show_disconnected(exc.reason)
            return
        if not self.is_running or self.paused:
            return
        self.show(self.shaper.shape(snapshot))

    def show(self, frame: Frame) -> None:
        self.frame = frame
        self.disconnected = None
        self.query_one("#banner").remove_class("shown")
        self.query_one(DataTable).remove_class("stale")
        self.render_header()
        self.render_rows()

    def show_disconnected(self, reason: str) -> None:
        self.disconnected = reason
        self.shaper.forget()
        banner = self.query_one("#banner", Static)
        banner.update(f"disconnected: {reason}, retrying")
        banner.add_class("shown")
        self.query_one(DataTable).add_class("stale")

    def render_header(self) -> None:
        frame = self.frame
        if frame is None:
            return
        line = Text()
        line.append(f"jairouter {frame.version}", "bold")
        line.append(f"  up {_duration(frame.uptime)}")
        line.append(f"  config generation {frame.generation}")
        total = "-" if frame.total_rps is None else f"{frame.total_rps:.1f}"
        line.append(f"  total {total} req/s")
        line.append(f"  sort: {COLUMNS[self.sort_index].label}")
        if self.filter_text:
            line.append(f"  filter: {self.filter_text!r}")
        if self.paused:
            line.append("  PAUSED", "bold yellow")
        if frame.reload_error:
            line.append(f"\nreload error: {frame.reload_error}", "bold red")
        self.query_one("#header", Static).update(line)

    def render_rows(self) -> None:
        """Bring the table to the frame: update changed cells, add and remove whole rows only
        when instances appear, disappear or leave the filter."""
        if self.frame is None:
            return
        table = self.query_one(DataTable)
        wanted = {i.key: i for i in self.frame.instances if i.matches(self.filter_text)}
        for key in [row.value for row in table.rows if row.value not in wanted]:
            if key is not None:
                table.remove_row(key)
        for key, instance in wanted.items():
            cells = [column.render(instance) for column in COLUMNS]
            if key in table.rows:
                self._update_row(table, instance, cells)
            else:
                table.add_row(*cells, key=key)
        column = COLUMNS[self.sort_index].key
        table.sort(column, key=sort_key, reverse=column not in TEXT_COLUMNS)

    @staticmethod
    def _update_row(table: DataTable[Cell], instance: Instance, cells: list[Cell]) -> None:
        current = table.get_row(instance.key)
        for column, old, new in zip(COLUMNS, current, cells, strict=True):
            if str(old) != new.plain or getattr(old, "style", None) != new.style:
                table.update_cell(instance.key, column.key, new)

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.render_header()

    def action_sort(self) -> None:
        self.sort_index = (self.sort_index + 1) % len(COLUMNS)
        self.render_header()
        self.render_rows()

    def action_help(self) -> None:
        self.query_one("#help").toggle_class("shown")

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.add_class("shown")
        field.focus()

    def action_close_filter(self) -> None:
        self.query_one("#filter").remove_class("shown")
        self.query_one(DataTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self.render_header()
        self.render_rows()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_close_filter()


def _duration(seconds: float) -> str:
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}d {clock}" if days else clock
