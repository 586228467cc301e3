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
