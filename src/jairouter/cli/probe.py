"""`jairouter probe`: probe every configured instance once, the way the router's health checks do.

Exits 0 when every instance answered, 1 when any did not (or the config is invalid, reported
with file:line:column), 2 for usage errors.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from jairouter.cli.options import ConfigOption, resolve_config_path
from jairouter.cli.problems import load_or_exit, plural, stdout

if TYPE_CHECKING:
    from rich.table import Table

    from jairouter.health import ProbeResult, ProbeTarget

Row = dict[str, Any]


def probe(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0.001,
            metavar="S",
            show_default=False,
            help="Seconds each probe may take; defaults to health_check.timeout (5).",
        ),
    ] = None,
) -> None:
    """Probe every instance once, concurrently; exit 1 if any is unhealthy."""
    import asyncio

    from jairouter.adapters.registry import ADAPTERS
    from jairouter.health import probe_all, probe_targets

    path = resolve_config_path(config)
    loaded = load_or_exit(path)
    targets = list(probe_targets(loaded, ADAPTERS, loaded.health_check_of))
    results = asyncio.run(probe_all(targets, time_limit=timeout)) if targets else []
    rows = [_row(target, result) for target, result in zip(targets, results, strict=True)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    elif not rows:
        stdout().print(f"{path} lists no instances; add one with `jairouter backends add`")
    else:
        console = stdout()
        console.print(_table(rows, str(path)))
        # Errors again, one per line: readable however narrow the terminal folded the table.
        for row in rows:
            if not row["healthy"]:
                console.print(f"{row['model']}@{row['url']} ({row['service']}): {row['error']}")
        console.print(_summary(rows))
    if any(not row["healthy"] for row in rows):
        raise typer.Exit(1)


def _row(target: ProbeTarget, result: ProbeResult) -> Row:
    return {
        "service": target.service.value,
        "model": target.model,
        "url": target.url,
        "adapter": target.adapter,
        "healthy": result.ok,
        "http_status": result.status,
        "latency_ms": round(result.latency * 1000, 1),
        "models": list(result.models) if result.models is not None else None,
        "upstream_model": target.upstream_model,
        "serves_model": result.lists(target.upstream_model),
        "error": result.error,
    }


def _summary(rows: list[Row]) -> str:
    down = sum(not row["healthy"] for row in rows)
    summary = f"{plural(down, 'instance')} of {len(rows)} unhealthy" if down else "all healthy"
    unlisted = sum(row["serves_model"] is False for row in rows)
    if unlisted:
        summary += f"; {plural(unlisted, 'server')} did not list the model it is configured for"
    return summary


def _table(rows: list[Row], title: str) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"probes ({title})", title_justify="left")
    # Short cells never wrap, so a narrow terminal folds only the long ones.
    for column in ("service", "model", "url", "adapter", "status"):
        table.add_column(column, no_wrap=column not in ("model", "url"), overflow="fold")
    table.add_column("ms", justify="right", no_wrap=True)
    table.add_column("models reported", overflow="fold")
    table.add_column("has model", no_wrap=True)
    table.add_column("error", overflow="fold")
    for row in rows:
        status = Text("healthy", "green") if row["healthy"] else Text("unhealthy", "red")
        models = row["models"]
        serves: str | Text = "" if row["serves_model"] is None else "yes"
        if row["serves_model"] is False:
            serves = Text("no", "yellow")
        table.add_row(
            row["service"],
            row["model"],
            row["url"],
            row["adapter"],
            status,
            f"{row['latency_ms']:.0f}",
            ", ".join(models) if models is not None else "",
            serves,
            row["error"] or "",
        )
    return table
