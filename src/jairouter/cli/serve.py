"""`jairouter serve`: run the router in the foreground."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from jairouter.cli.options import ConfigOption, resolve_config_path
from jairouter.cli.problems import fail, fail_with_problems, load_or_exit, stdout

if TYPE_CHECKING:
    from jairouter.config.models import Config
    from jairouter.config.tree import Path as KeyPath
    from jairouter.errors import ConfigProblem


class LogLevel(StrEnum):
    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    DEBUG = "debug"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


HostOption = Annotated[
    str | None, typer.Option("--host", help="Address to bind; defaults to server.host (127.0.0.1).")
]
PortOption = Annotated[
    int | None,
    typer.Option(
        "--port", min=0, max=65535, help="Port to listen on; defaults to server.port (8080)."
    ),
]
LogLevelOption = Annotated[
    LogLevel,
    typer.Option(
        "--log-level",
        help="The router's own messages at this level and above.",
        case_sensitive=False,
    ),
]
LogFormatOption = Annotated[
    LogFormat,
    typer.Option(
        "--log-format",
        help="text: readable lines (a table at startup). json: one JSON object per line, for "
        "log collectors; also the access log's unless logging.access_log.format says otherwise.",
        case_sensitive=False,
    ),
]


def serve(
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Worker processes sharing the port.")
    ] = 1,
    log_level: LogLevelOption = LogLevel.INFO,
    log_format: LogFormatOption = LogFormat.TEXT,
) -> None:
    """Run the router in the foreground; Ctrl-C or SIGTERM drains in-flight requests, exits 0."""
    from jairouter.server.run import bind
    from jairouter.server.run import serve as run_server

    path = resolve_config_path(config)
    loaded = load_or_exit(path, "; the router was not started")
    problems = _startup_problems(loaded, path)
    if problems:
        fail_with_problems(problems, "; the router was not started")
    bind_host = host or loaded.server.host
    bind_port = loaded.server.port if port is None else port
    try:
        sock = bind(bind_host, bind_port, fallback_to_free=False)
    except OSError as exc:
        fail(f"cannot listen on {bind_host}:{bind_port}: {exc.strerror or exc}")
    bind_port = sock.getsockname()[1]
    url = f"http://{_url_host(bind_host)}:{bind_port}/v1"
    if log_format is LogFormat.JSON:
        _announce_json(loaded, path, url, workers)
    else:
        _announce(loaded, path, url, workers)
    try:
        run_server(
            loaded,
            path,
            sock,
            workers=workers,
            log_level=log_level.value,
            log_format="json" if log_format is LogFormat.JSON else "text",
        )
    finally:
        sock.close()


def _announce(config: Config, path: Path, url: str, workers: int) -> None:
    from jairouter.cli.instances import instance_rows, instances_table

    console = stdout()
    console.print(instances_table(instance_rows(config), f"services ({path})"))
    console.print(
        f"jairouter listening on {url} ({workers} worker{'s' if workers > 1 else ''}, "
        f"config {path})"
    )


def _announce_json(config: Config, path: Path, url: str, workers: int) -> None:
    """The same startup facts as JSON lines: one per instance, then where it listens."""
    from jairouter.cli.instances import instance_rows
    from jairouter.server.log_format import json_line

    for row in instance_rows(config):
        typer.echo(json_line("info", "jairouter.serve", "instance", **row))
    listening = json_line(
        "info", "jairouter.serve", "listening", url=url, workers=workers, config=str(path)
    )
    typer.echo(listening)


def _startup_problems(config: Config, path: Path) -> list[ConfigProblem]:
    """What would stop the access log or tracing from starting, found before binding."""
    problems = []
    access = config.logging.access_log
    if access.enabled and access.output not in ("stdout", "stderr"):
        try:
            Path(access.output).expanduser().open("ab").close()
        except OSError as exc:
            problems.append(
                _problem_at(
                    path,
                    ("logging", "access_log", "output"),
                    f"cannot append to {access.output}: {exc.strerror or exc}",
                    "name a writable file, or stdout",
                )
            )
    if config.tracing.enabled:
        try:
            import jairouter.server.tracing  # noqa: F401
        except ImportError as exc:
            from jairouter.server.observers import INSTALL_HINT

            problems.append(
                _problem_at(
                    path,
                    ("tracing", "enabled"),
                    f"tracing is on but OpenTelemetry is not installed (no {exc.name or exc})",
                    f"{INSTALL_HINT}, or set tracing.enabled: false",
                )
            )
    return problems


def _problem_at(path: Path, key: KeyPath, message: str, hint: str) -> ConfigProblem:
    """A problem pointing at the line that set `key` (the file alone if it is a default)."""
    import os

    from jairouter.config.loader import read_config_text
    from jairouter.config.syntax import load_yaml
    from jairouter.config.tree import dotted, flatten
    from jairouter.errors import ConfigProblem

    doc = flatten(load_yaml(read_config_text(path), str(path)), str(path), os.environ)
    line, column = doc.values.get(key, (None, None))
    return ConfigProblem(str(path), line, column, dotted(key), message, hint)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
