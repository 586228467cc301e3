"""The `jairouter` command: composes one Typer app per command group.

Heavy imports (uvicorn, aiohttp, the server) stay inside the commands so `--help` is instant.
"""

from __future__ import annotations

import typer

from jairouter import __version__

app = typer.Typer(
    name="jairouter",
    help="One OpenAI-compatible front door to every model server you run.",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"jairouter {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """One OpenAI-compatible front door to every model server you run."""


def _register() -> None:
    # Command groups register themselves here, in the order `--help` lists them.
    from jairouter.cli import (
        backends,
        completions_cmd,
        config_cmd,
        demo,
        init_cmd,
        probe,
        reload_cmd,
        serve,
        top_cmd,
    )

    app.command("demo")(demo.demo)
    app.command("serve")(serve.serve)
    app.command("reload")(reload_cmd.reload)
    app.command("top")(top_cmd.top)
    app.command("init")(init_cmd.init)
    app.add_typer(backends.app, name="backends")
    app.add_typer(config_cmd.app, name="config")
    app.command("probe")(probe.probe)
    app.command("completions")(completions_cmd.completions)


_register()


def run() -> None:
    app()
