"""`jairouter backends add|list|remove`: the config's instances, edited without an editor.

Edits keep the file's comments and layout and are validated before anything is written.
Wrong arguments (an unknown service or adapter, an adapter that cannot serve the service) exit
with 2 like any usage error; a file that would not validate, a duplicate or a missing instance
exits with 1.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from jairouter.cli.options import ConfigOption, resolve_config_path
from jairouter.cli.problems import fail, fail_with_problems, load_or_exit, stderr, stdout
from jairouter.errors import ConfigError
from jairouter.types import ServiceType

if TYPE_CHECKING:
    from jairouter.cli.instances import Row

app = typer.Typer(help="Add, list and remove the model servers behind each service.")

ServiceArgument = Annotated[
    ServiceType,
    typer.Argument(help="The service: chat, embedding, rerank, ...", show_default=False),
]
ModelArgument = Annotated[str, typer.Argument(help="The model name clients ask for.")]
UrlArgument = Annotated[str, typer.Argument(help="Base URL of the server.")]


def _adapter_names() -> list[str]:
    from jairouter.adapters.registry import capabilities

    return list(capabilities())


@app.command("add")
def add(
    service: ServiceArgument,
    model: ModelArgument,
    url: UrlArgument,
    adapter: Annotated[
        str,
        typer.Option(help="Wire protocol of the server.", autocompletion=_adapter_names),
    ] = "openai",
    weight: Annotated[
        int | None,
        typer.Option(min=1, max=10_000, help="Relative share of traffic (1 when omitted)."),
    ] = None,
    upstream_model: Annotated[
        str | None, typer.Option(help="Model name sent upstream when it differs from MODEL.")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(help="Key for the server; prefer '${ENV_VAR}' over the key itself."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Append an instance to a service, creating the file or the service if needed."""
    from jairouter.adapters.registry import capabilities
    from jairouter.config.loader import read_config_text
    from jairouter.config.store import add_instance, save_config

    supported = capabilities()
    _check_adapter(adapter, service, supported)
    fields: dict[str, str | int] = {"model": model, "url": url, "adapter": adapter}
    optional = {"weight": weight, "upstream_model": upstream_model, "api_key": api_key}
    fields.update({key: value for key, value in optional.items() if value is not None})
    path = resolve_config_path(config)
    try:
        text = add_instance(read_config_text(path, missing_ok=True), str(path), service, fields)
        save_config(path, text, adapters=supported)
    except ConfigError as exc:
        fail_with_problems(exc.problems, f"; {path} left unchanged")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    stdout().print(f"added {model} at {url} to {service.value} in {path}")
    if api_key and "${" not in api_key:
        stderr().print(f"note: the key is stored as written; '${{VAR}}' keeps it out of {path}")


@app.command("list")
def list_(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show every configured instance (keys and headers are never shown)."""
    from jairouter.cli.instances import instance_rows

    path = resolve_config_path(config)
    loaded = load_or_exit(path)
    rows = instance_rows(loaded)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        _print_table(path, rows)


@app.command("remove")
def remove(
    service: ServiceArgument, model: ModelArgument, url: UrlArgument, config: ConfigOption = None
) -> None:
    """Remove one instance, named by its service, model and URL."""
    from jairouter.adapters.registry import capabilities
    from jairouter.config.loader import read_config_text
    from jairouter.config.store import remove_instance, save_config

    path = resolve_config_path(config)
    try:
        text = remove_instance(read_config_text(path), str(path), service, model, url)
        save_config(path, text, adapters=capabilities())
    except ConfigError as exc:
        fail_with_problems(exc.problems, f"; {path} left unchanged")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    stdout().print(f"removed {model} at {url} from {service.value} in {path}")


def _check_adapter(
    adapter: str, service: ServiceType, supported: Mapping[str, frozenset[ServiceType]]
) -> None:
    if adapter not in supported:
        close = difflib.get_close_matches(adapter, list(supported), n=1)
        guess = f"; did you mean {close[0]!r}?" if close else ""
        known = ", ".join(supported)
        message = f"unknown adapter {adapter!r} (known: {known}){guess}"
        raise typer.BadParameter(message, param_hint="'--adapter'")
    if service not in supported[adapter]:
        able = ", ".join(name for name, served in supported.items() if service in served)
        raise typer.BadParameter(
            f"{adapter} cannot serve {service.value}; adapters that can: {able}",
            param_hint="'--adapter'",
        )


def _print_table(path: Path, rows: list[Row]) -> None:
    from jairouter.cli.instances import instances_table

    if not rows:
        stdout().print(f"{path} lists no instances; add one with `jairouter backends add`")
        return
    stdout().print(instances_table(rows, str(path)))
