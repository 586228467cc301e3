"""`jairouter top`: a live, top-like view of a running router (see `jairouter.tui`)."""

from __future__ import annotations

from typing import Annotated

import typer

from jairouter.cli.options import (
    ConfigOption,
    RouterUrlOption,
    TokenOption,
    admin_token,
    router_address,
)


def top(
    config: ConfigOption = None,
    url: RouterUrlOption = None,
    token: TokenOption = None,
    interval: Annotated[
        float,
        typer.Option("--interval", min=0.1, max=60, help="Seconds between updates."),
    ] = 1.0,
) -> None:
    """Watch a running router live: health, circuits, load, latency and limits per instance.

    Enable, disable or reset an instance from the keyboard (? lists the keys)."""
    from jairouter.tui.app import TopApp
    from jairouter.tui.source import StatusSource

    source = StatusSource(router_address(url, config), admin_token(token))
    TopApp(source, interval).run()
