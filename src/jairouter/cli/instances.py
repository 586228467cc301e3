"""The configured instances as rows and as a table (`backends list`, `serve`, `demo`).

Keys and headers are never shown: they may hold secrets.
"""

from __future__ import annotations

from rich.table import Table

from jairouter.config.models import Config

Row = dict[str, str | int | None]


def instance_rows(config: Config) -> list[Row]:
    return [
        {
            "service": service.value,
            "strategy": config.load_balance_of(service),
            "model": inst.model,
            "url": inst.url,
            "adapter": inst.adapter,
            "weight": inst.weight,
            "upstream_model": inst.upstream_model,
            "enabled": inst.enabled,
        }
        for service, settings in config.services.items()
        for inst in settings.instances
    ]


def instances_table(rows: list[Row], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    columns = ("service", "strategy", "model", "url", "adapter", "weight", "upstream model")
    for column in (*columns, "enabled"):
        table.add_column(column, overflow="fold")
    for row in rows:
        cells = [str(value) if value is not None else "" for value in row.values()]
        cells[-1] = "yes" if row["enabled"] else "no"
        table.add_row(*cells)
    return table
