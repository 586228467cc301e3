"""`jairouter backends add|list|set|enable|disable|remove`: the config's instances, edited
without an editor.

Edits keep the file's comments and layout, are validated before anything is written, wait for
any other writer of the file, and keep the replaced text as a version (`jairouter config
history`). Wrong arguments (an unknown service or adapter, an adapter that cannot serve the
service) exit with 2 like any usage error; a file that would not validate, a duplicate or a
missing instance exits with 1.
"""

from __future__ import annotations

import difflib
import json
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from jairouter.cli.options import ConfigOption, resolve_config_path
from jairouter.cli.problems import fail, fail_with_problems, load_or_exit, stderr, stdout
from jairouter.errors import ConfigError
from jairouter.types import ServiceType

if TYPE_CHECKING:
    from jairouter.cli.instances import Row
    from jairouter.config.store import Edit

app = typer.Typer(help="Add, list, change and remove the model servers behind each service.")

ServiceArgument = Annotated[
    ServiceType,
    typer.Argument(help="The service: chat, embedding, rerank, ...", show_default=False),
]
ModelArgument = Annotated[str, typer.Argument(help="The model name clients ask for.")]
UrlArgument = Annotated[str, typer.Argument(help="Base URL of the server.")]


def _adapter_names(incomplete: str) -> list[str]:
    from jairouter.adapters.registry import capabilities

    return [name for name in capabilities() if name.startswith(incomplete)]


# Completion of an instance already in the config, read from the file at each <Tab>: never
# raises (a broken or missing file completes no model or URL), and reads the YAML only, so a
# file that would not validate still completes.


def _configured(ctx: typer.Context) -> dict[str, list[tuple[str, str]]]:
    """(model, url) of every instance in the config the command line names, per service."""
    try:
        from jairouter.config.loader import read_config_text
        from jairouter.config.syntax import load_yaml

        path = resolve_config_path(ctx.params.get("config"))
        services = load_yaml(read_config_text(path), str(path)).get("services")
        found: dict[str, list[tuple[str, str]]] = {}
        for name, settings in services.items():
            items = (settings or {}).get("instances") or []
            found[str(name)] = [
                (str(item["model"]), str(item["url"]))
                for item in items
                if isinstance(item, Mapping) and "model" in item and "url" in item
            ]
        return found
    except Exception:  # completion must never fail the shell
        return {}


def _complete_service(ctx: typer.Context, incomplete: str) -> list[str]:
    """The config's services; every service type when the config names none."""
    names = [name for name in _configured(ctx) if name in set(ServiceType)]
    return [name for name in names or list(ServiceType) if name.startswith(incomplete)]


def _complete_model(ctx: typer.Context, incomplete: str) -> list[str]:
    """The models of the service given before it."""
    service = ctx.params.get("service")
    pairs = _configured(ctx).get(str(service), []) if service is not None else []
    models = dict.fromkeys(model for model, _ in pairs)
    return [model for model in models if model.startswith(incomplete)]


def _complete_url(ctx: typer.Context, incomplete: str) -> list[str]:
    """The URLs of the model given before it."""
    service, wanted = ctx.params.get("service"), ctx.params.get("model")
    pairs = _configured(ctx).get(str(service), []) if service is not None else []
    urls = dict.fromkeys(url for model, url in pairs if model == wanted)
    return [url for url in urls if url.startswith(incomplete)]


ListedService = Annotated[
    ServiceType,
    typer.Argument(
        help="The service: chat, embedding, rerank, ...",
        show_default=False,
        autocompletion=_complete_service,
    ),
]
ListedModel = Annotated[
    str, typer.Argument(help="The model name clients ask for.", autocompletion=_complete_model)
]
ListedUrl = Annotated[
    str, typer.Argument(help="Base URL of the server.", autocompletion=_complete_url)
]

UpstreamModelOption = Annotated[
    str | None, typer.Option(help="Model name sent upstream when it differs from MODEL.")
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(help="Key for the server; prefer '${ENV_VAR}' over the key itself."),
]


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
    upstream_model: UpstreamModelOption = None,
    api_key: ApiKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Append an instance to a service, creating the file or the service if needed."""
    from jairouter.adapters.registry import capabilities
    from jairouter.config.store import add_instance

    supported = capabilities()
    _check_adapter(adapter, service, supported)
    fields: dict[str, str | int] = {"model": model, "url": url, "adapter": adapter}
    optional = {"weight": weight, "upstream_model": upstream_model, "api_key": api_key}
    fields.update({key: value for key, value in optional.items() if value is not None})
    path = resolve_config_path(config)
    description = _describe("add", service, model, url, fields)
    _edit(
        path,
        lambda text: add_instance(text, str(path), service, fields),
        description,
        missing_ok=True,
    )
    stdout().print(f"added {model} at {url} to {service.value} in {path}")
    _note_literal_key(api_key, path)


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
    service: ListedService, model: ListedModel, url: ListedUrl, config: ConfigOption = None
) -> None:
    """Remove one instance, named by its service, model and URL."""
    from jairouter.config.store import remove_instance

    path = resolve_config_path(config)
    description = _describe("remove", service, model, url)
    _edit(path, lambda text: remove_instance(text, str(path), service, model, url), description)
    stdout().print(f"removed {model} at {url} from {service.value} in {path}")


@app.command("set")
def set_(
    service: ListedService,
    model: ListedModel,
    url: ListedUrl,
    weight: Annotated[
        int | None, typer.Option(min=1, max=10_000, help="Relative share of traffic (1-10000).")
    ] = None,
    adapter: Annotated[
        str | None,
        typer.Option(help="Wire protocol of the server.", autocompletion=_adapter_names),
    ] = None,
    upstream_model: UpstreamModelOption = None,
    header: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME=VALUE", help="An HTTP header sent upstream; repeat for more headers."
        ),
    ] = None,
    api_key: ApiKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Change settings of one instance, named by its service, model and URL.

    Only the keys given are written: a key already in the file gets its new value in place, a
    missing one is added to the instance. Every other line stays as it is.
    """
    from jairouter.adapters.registry import capabilities
    from jairouter.config.store import update_instance

    if adapter is not None:
        _check_adapter(adapter, service, capabilities())
    headers = _parse_headers(header or [])
    optional = {"weight": weight, "adapter": adapter, "upstream_model": upstream_model}
    fields: dict[str, str | int | bool] = {k: v for k, v in optional.items() if v is not None}
    if api_key is not None:
        fields["api_key"] = api_key
    if not (fields or headers):
        options = "--weight, --adapter, --upstream-model, --header or --api-key"
        raise typer.BadParameter(f"nothing to set; give {options}")
    path = resolve_config_path(config)
    description = _describe("set", service, model, url, fields, headers)

    def change(text: str) -> str:
        return update_instance(text, str(path), service, model, url, fields, headers)

    name = f"{model} at {url} in {service.value}"
    if _edit(path, change, description).changed:
        stdout().print(f"updated {name} in {path}: {_summary(fields, headers)}")
    else:
        stdout().print(f"{name} already has these settings; {path} left unchanged")
    _note_literal_key(api_key, path)


@app.command("enable")
def enable(
    service: ListedService, model: ListedModel, url: ListedUrl, config: ConfigOption = None
) -> None:
    """Send traffic to an instance again (removes the effect of `disable`)."""
    _set_enabled(service, model, url, config, enabled=True)


@app.command("disable")
def disable(
    service: ListedService, model: ListedModel, url: ListedUrl, config: ConfigOption = None
) -> None:
    """Stop sending traffic to an instance, keeping it in the file (`enabled: false`)."""
    _set_enabled(service, model, url, config, enabled=False)


def _set_enabled(
    service: ServiceType, model: str, url: str, config: Path | None, *, enabled: bool
) -> None:
    from jairouter.config.store import set_enabled

    path = resolve_config_path(config)
    verb = "enable" if enabled else "disable"
    description = _describe(verb, service, model, url)

    def change(text: str) -> str:
        return set_enabled(text, str(path), service, model, url, enabled)

    name = f"{model} at {url} in {service.value}"
    if not _edit(path, change, description).changed:
        stdout().print(f"{name} is already {verb}d; {path} left unchanged")
    elif enabled:
        stdout().print(f"enabled {name} in {path}")
    else:
        stdout().print(f"disabled {name} in {path}: kept in the file, sent no traffic")


def _edit(
    path: Path, change: Callable[[str], str], description: str, *, missing_ok: bool = False
) -> Edit:
    """`edit_config` with its failures reported the way every backends command reports them."""
    from jairouter.adapters.registry import capabilities
    from jairouter.config.store import edit_config

    try:
        return edit_config(
            path, change, description, adapters=capabilities(), missing_ok=missing_ok
        )
    except ConfigError as exc:
        fail_with_problems(exc.problems, f"; {path} left unchanged")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")


def _describe(
    verb: str,
    service: ServiceType,
    model: str,
    url: str,
    fields: Mapping[str, str | int | bool] | None = None,
    headers: Mapping[str, str] | None = None,
) -> str:
    """The command as one line for `config history`; keys and header values are left out."""
    words = [shlex.quote(word) for word in ("backends", verb, service.value, model, url)]
    for key, value in (fields or {}).items():
        if key not in ("model", "url"):
            shown = "***" if key == "api_key" else shlex.quote(str(value))
            words += [f"--{key.replace('_', '-')}", shown]
    for name in headers or {}:
        words += ["--header", f"{shlex.quote(name)}=***"]
    return " ".join(words)


def _summary(fields: Mapping[str, str | int | bool], headers: Mapping[str, str]) -> str:
    shown = [key if key == "api_key" else f"{key}={value}" for key, value in fields.items()]
    return ", ".join([*shown, *(f"headers.{name}" for name in headers)])


def _parse_headers(given: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in given:
        name, equals, value = item.partition("=")
        if not (equals and name.strip()):
            raise typer.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="'--header'")
        headers[name.strip()] = value
    return headers


def _note_literal_key(api_key: str | None, path: Path) -> None:
    if api_key and "${" not in api_key:
        stderr().print(f"note: the key is stored as written; '${{VAR}}' keeps it out of {path}")


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
