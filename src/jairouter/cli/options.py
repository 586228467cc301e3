"""Options several commands share, declared once so `serve`, `demo` and the editors agree."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

CONFIG_ENV = "JAIROUTER_CONFIG"
DEFAULT_CONFIG = Path("jairouter.yaml")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="PATH",
        dir_okay=False,
        show_default=False,
        help=f"Config file; defaults to ${CONFIG_ENV}, else ./{DEFAULT_CONFIG}.",
    ),
]
"""`config: ConfigOption = None` in a command's signature; pass it to `resolve_config_path`."""


def resolve_config_path(option: Path | None, env: Mapping[str, str] | None = None) -> Path:
    """`--config` if given, else $JAIROUTER_CONFIG, else ./jairouter.yaml."""
    if option is not None:
        return option
    from_env = (os.environ if env is None else env).get(CONFIG_ENV)
    return Path(from_env) if from_env else DEFAULT_CONFIG


TOKEN_ENV = "JAIROUTER_ADMIN_TOKEN"

RouterUrlOption = Annotated[
    str | None,
    typer.Option("--url", help="The router's address; defaults to server.host:port of the config."),
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", help=f"Admin token; defaults to ${TOKEN_ENV}.", show_default=False),
]


def router_address(url: str | None, config: Path | None) -> str:
    """`--url`, else the address the config's router listens on (wildcards mean this host)."""
    if url is not None:
        return url.rstrip("/")
    from jairouter.cli.problems import load_or_exit

    server = load_or_exit(resolve_config_path(config)).server
    host = "127.0.0.1" if server.host in ("0.0.0.0", "::") else server.host
    return f"http://[{host}]:{server.port}" if ":" in host else f"http://{host}:{server.port}"


def admin_token(token: str | None) -> str | None:
    return token or os.environ.get(TOKEN_ENV)
