"""`jairouter init`: write a commented starter config to edit from."""

from __future__ import annotations

from typing import Annotated

import typer

from jairouter.cli.options import ConfigOption, resolve_config_path
from jairouter.cli.problems import fail, stdout


def init(
    config: ConfigOption = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter config; an existing file is kept unless --force."""
    from jairouter.config.starter import STARTER
    from jairouter.config.store import save_config

    path = resolve_config_path(config)
    try:
        # Through the store, so an overwritten file is kept as a version, not lost.
        save_config(path, STARTER, overwrite=force, description="init --force")
    except FileExistsError:
        fail(f"{path} already exists; pass --force to overwrite it")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    stdout().print(f"wrote {path}; next: `jairouter backends add` a server, then `jairouter serve`")
