"""`jairouter config validate`: check a config file the way the router will load it."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer

from jairouter.cli.options import ConfigOption, resolve_config_path
from jairouter.cli.problems import plural, print_problems, stdout
from jairouter.errors import ConfigError

app = typer.Typer(help="Check the config file.")


@app.command("validate")
def validate(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Report every problem with its file:line:column and a hint; exit 1 if there is any.

    `${VAR}` references are expanded from the current environment, as the router would.
    """
    from jairouter.adapters.registry import capabilities
    from jairouter.config.loader import load_config

    path = resolve_config_path(config)
    try:
        loaded = load_config(path, adapters=capabilities())
    except ConfigError as exc:
        problems = exc.problems
    else:
        problems = []
    if as_json:
        found = [dataclasses.asdict(problem) for problem in problems]
        typer.echo(
            json.dumps({"file": str(path), "valid": not problems, "problems": found}, indent=2)
        )
    elif problems:
        print_problems(problems, f" in {path}")
    else:
        instances = sum(len(service.instances) for service in loaded.services.values())
        services = plural(len(loaded.services), "service")
        stdout().print(f"{path} is valid: {services}, {plural(instances, 'instance')}")
    if problems:
        raise typer.Exit(1)
