"""`jairouter config validate|show|history|diff|rollback`: check the config file the way the
router will load it, print it as the router sees it, and look back at or return to its earlier
versions (kept by every change jairouter makes; see `jairouter.config.versions`).
`jairouter config import-jairouter` writes one from a JAiRouter (Java) `application.yml`."""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from jairouter.cli.options import ConfigOption, resolve_config_path
from jairouter.cli.problems import (
    fail,
    fail_with_problems,
    load_or_exit,
    plural,
    print_problems,
    stderr,
    stdout,
)
from jairouter.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from rich.table import Table

    from jairouter.config.jairouter_import import ImportResult
    from jairouter.config.versions import Version

app = typer.Typer(help="Check, show and version the config file; import one from JAiRouter.")


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


@app.command("history")
def history(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the kept versions of the config file, oldest first.

    Every change jairouter makes keeps the text it replaced as a version, described by the
    change. `config diff N` shows what changed since version N, `config rollback N` brings it back.
    """
    from jairouter.config.versions import list_versions

    path = resolve_config_path(config)
    versions = list_versions(path)
    if as_json:
        typer.echo(json.dumps([version.as_json() for version in versions], indent=2))
    elif not versions:
        stdout().print(f"no versions of {path} kept yet: each change jairouter makes keeps one")
    else:
        stdout().print(_history_table(str(path), versions))


@app.command("diff")
def diff(
    old: Annotated[
        int | None,
        typer.Argument(
            metavar="A", help="A version number; the latest one when omitted.", show_default=False
        ),
    ] = None,
    new: Annotated[
        int | None,
        typer.Argument(
            metavar="B",
            help="The version to compare with; the file when omitted.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Show the changes from version A to version B as a unified diff.

    No version: the latest version against the file, i.e. the last change (and any edit by hand
    since). A alone: version A against the file. Like `git diff`, exit 0 whether or not there
    are differences (none prints nothing); exit 1 for a version that is not kept.
    """
    from jairouter.config.loader import read_config_text
    from jairouter.config.versions import list_versions, read_version

    path = resolve_config_path(config)
    if old is None:
        versions = list_versions(path)
        if not versions:
            fail(f"no versions of {path} kept yet: each change jairouter makes keeps one")
        old = versions[-1].number
    try:
        before = read_version(path, old)
        after = read_config_text(path, missing_ok=True) if new is None else read_version(path, new)
    except ConfigError as exc:
        fail(str(exc))
    name = f"{path} (version {new})" if new is not None else str(path)
    typer.echo(_unified(before, after, f"{path} (version {old})", name), nl=False)


@app.command("rollback")
def rollback(
    number: Annotated[
        int, typer.Argument(help="The version to bring back (see `jairouter config history`).")
    ],
    config: ConfigOption = None,
) -> None:
    """Bring back a kept version, if it still validates; the text it replaces is kept too."""
    from jairouter.adapters.registry import capabilities
    from jairouter.config.loader import check_config
    from jairouter.config.store import edit_config
    from jairouter.config.versions import read_version, version_file

    path = resolve_config_path(config)
    adapters = capabilities()
    try:
        text = read_version(path, number)
        where = str(version_file(path, number))
        problems = check_config(text, where, adapters=adapters, require_env=False)
        if problems:
            raise ConfigError(problems)
        done = edit_config(
            path, lambda _: text, f"rollback to {number}", adapters=adapters, missing_ok=True
        )
    except ConfigError as exc:
        fail_with_problems(exc.problems, f"; {path} left unchanged")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    if not done.changed:
        stdout().print(f"{path} already matches version {number}; nothing written")
        return
    kept = f"; the text it replaced is version {done.version.number}" if done.version else ""
    stdout().print(f"rolled {path} back to version {number}{kept}")
    stderr().print(
        "note: a running router that watches this file reloads it by itself; "
        "otherwise run `jairouter reload` or restart it"
    )


@app.command("show")
def show(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of YAML.")] = False,
) -> None:
    """Print the config as the router will use it, secrets masked.

    Defaults are filled in and `${VAR}` references expanded from the environment; keys,
    credential-like header values (Authorization, *key*, *token*, *secret*, ...) and passwords in
    URLs are shown as ***.
    """
    from jairouter.config.masking import masked
    from jairouter.config.syntax import dump_yaml

    path = resolve_config_path(config)
    data = masked(load_or_exit(path).model_dump(mode="json", exclude_none=True))
    typer.echo(json.dumps(data, indent=2) if as_json else dump_yaml(data).rstrip("\n"))


def _history_table(title: str, versions: list[Version]) -> Table:
    from datetime import datetime

    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("version", "replaced at", "bytes", "replaced by"):
        table.add_column(column, overflow="fold")
    for version in versions:
        when = datetime.fromisoformat(version.time).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(str(version.number), when, str(version.size), version.description)
    return table


def _unified(before: str, after: str, old_name: str, new_name: str) -> str:
    import difflib

    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), old_name, new_name
    )
    return "".join(
        line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n" for line in lines
    )


@app.command("import-jairouter")
def import_jairouter(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="SOURCE",
            dir_okay=False,
            show_default=False,
            help="JAiRouter's application.yml, or the YAML file holding its `model:` section.",
        ),
    ],
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            show_default=False,
            help="Where to write the result ('-' prints it); defaults to the --config path.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the outcome and what was left out as JSON.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Convert a JAiRouter (Java) config into a commented jairouter config.

    Writes to --output (by default the --config path) and never overwrites a file without
    --force. Every setting that was left out or changed is listed with its file:line:column;
    they do not make the command fail.
    """
    from jairouter.adapters.registry import capabilities
    from jairouter.config.jairouter_import import import_jairouter as convert
    from jairouter.config.loader import check_config
    from jairouter.config.store import save_config

    target = output if output is not None else str(resolve_config_path(config))
    stop = functools.partial(_import_failed, as_json, source, target)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        stop([ConfigProblem(str(source), None, None, "", "no such file")])
    except (OSError, UnicodeDecodeError) as exc:
        stop([ConfigProblem(str(source), None, None, "", f"cannot read: {exc}")])
    supported = capabilities()
    try:
        result = convert(text, str(source), adapters=supported)
    except ConfigError as exc:
        stop(exc.problems, f" in {source}; nothing written")
    imported = "(imported config)" if target == "-" else target
    problems = check_config(result.text, imported, adapters=supported, require_env=False)
    if problems:  # the importer must only produce valid configs
        stop(
            problems, " in the imported config: an importer bug, please report it; nothing written"
        )
    if target != "-":
        try:
            # Through the store: an overwritten file is kept as a version, under the edit lock.
            save_config(
                Path(target),
                result.text,
                adapters=supported,
                overwrite=force,
                description=f"import-jairouter {source}",
            )
        except FileExistsError:
            hint = "pass --force to overwrite it"
            exists = ConfigProblem(target, None, None, "", "already exists", hint)
            stop([exists], message=f"{target} already exists; {hint}")
        except OSError as exc:
            stop([ConfigProblem(target, None, None, "", f"cannot write: {exc.strerror or exc}")])
    _print_import(result, source, target, as_json)


def _import_failed(
    as_json: bool,
    source: Path,
    target: str,
    problems: list[ConfigProblem],
    outcome: str = "",
    *,
    message: str | None = None,
) -> NoReturn:
    if as_json:
        found = [dataclasses.asdict(problem) for problem in problems]
        failed = {"source": str(source), "output": target, "written": False, "problems": found}
        typer.echo(json.dumps(failed, indent=2))
        raise typer.Exit(1)
    if outcome:
        fail_with_problems(problems, outcome)
    fail(message or str(problems[0]))


def _print_import(result: ImportResult, source: Path, target: str, as_json: bool) -> None:
    instances = sum(result.services.values())
    if as_json:
        outcome: dict[str, object] = {
            "source": str(source),
            "output": target,
            "written": target != "-",
            "services": result.services,
            "instances": instances,
            "unmapped": [dataclasses.asdict(item) for item in result.unmapped],
        }
        if target == "-":
            outcome["config"] = result.text
        typer.echo(json.dumps(outcome, indent=2))
        return
    # The summary goes to stderr when stdout carries the config itself.
    console = stderr() if target == "-" else stdout()
    if target == "-":
        typer.echo(result.text, nl=False)
    held = f"{plural(len(result.services), 'service')}, {plural(instances, 'instance')}"
    where = "" if target == "-" else f" into {target}"
    console.print(f"imported {source}{where}: {held}")
    if result.unmapped:
        count = len(result.unmapped)
        console.print(f"{plural(count, 'setting')} left out or changed:")
        for item in result.unmapped:
            console.print(f"  {item}")
