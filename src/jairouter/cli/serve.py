"""`jairouter serve`: run the router in the foreground."""

from __future__ import annotations

from typing import Annotated

import typer

from jairouter.cli.options import ConfigOption, resolve_config_path
from jairouter.cli.problems import fail, load_or_exit, stdout

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
    str,
    typer.Option(
        "--log-level",
        help="critical, error, warning, info or debug.",
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
    log_level: LogLevelOption = "info",
) -> None:
    """Run the router in the foreground; Ctrl-C or SIGTERM drains in-flight requests, exits 0."""
    from jairouter.cli.instances import instance_rows, instances_table
    from jairouter.server.run import bind
    from jairouter.server.run import serve as run_server

    path = resolve_config_path(config)
    loaded = load_or_exit(path, "; the router was not started")
    bind_host = host or loaded.server.host
    bind_port = loaded.server.port if port is None else port
    try:
        sock = bind(bind_host, bind_port, fallback_to_free=False)
    except OSError as exc:
        fail(f"cannot listen on {bind_host}:{bind_port}: {exc.strerror or exc}")
    bind_port = sock.getsockname()[1]
    console = stdout()
    console.print(instances_table(instance_rows(loaded), f"services ({path})"))
    console.print(
        f"jairouter listening on http://{_url_host(bind_host)}:{bind_port}/v1 "
        f"({workers} worker{'s' if workers > 1 else ''}, config {path})"
    )
    try:
        run_server(loaded, path, sock, workers=workers, log_level=log_level.lower())
    finally:
        sock.close()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
