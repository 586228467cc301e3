"""`jairouter top`: a live, top-like view of a running router (see `jairouter.tui`)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from jairouter.cli.options import ConfigOption, resolve_config_path
from jairouter.cli.problems import load_or_exit

TOKEN_ENV = "JAIROUTER_ADMIN_TOKEN"


def top(
    config: ConfigOption = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url", help="The router's address; defaults to server.host:port of the config."
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", help=f"Admin token; defaults to ${TOKEN_ENV}.", show_default=False),
    ] = None,
    interval: Annotated[
        float, typer.Option("--interval", min=0.05, help="Seconds between polls.")
    ] = 1.0,
) -> None:
    """Watch a running router live: health, circuits, load and latency of every instance."""
    from jairouter.tui.app import TopApp
    from jairouter.tui.data import StatusSource

    if url is None:
        server = load_or_exit(resolve_config_path(config)).server
        host = "127.0.0.1" if server.host in ("0.0.0.0", "::") else server.host
        url = f"http://[{host}]:{server.port}" if ":" in host else f"http://{host}:{server.port}"
    TopApp(StatusSource(url, token or os.environ.get(TOKEN_ENV)), interval).run()
