"""How commands report failure: config problems and plain errors on stderr, then exit 1."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from jairouter.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from jairouter.config.models import Config


def stderr() -> Console:
    # Built per call (tests swap sys.stderr); soft wrap keeps each problem on one greppable line,
    # and no markup, so a `[0]` in a key path is printed, not read as a style.
    return Console(stderr=True, markup=False, highlight=False, soft_wrap=True)


def stdout() -> Console:
    return Console(markup=False, highlight=False, soft_wrap=True)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def print_problems(problems: Sequence[ConfigProblem], outcome: str = "") -> None:
    """Every problem on its own line, `file:line:column: key: message (hint: ...)`, then a count
    and the `outcome` (e.g. that nothing was written)."""
    console = stderr()
    for problem in problems:
        console.print(Text(str(problem), style="red"))
    console.print(Text(plural(len(problems), "problem") + outcome, style="bold red"))


def fail_with_problems(problems: Sequence[ConfigProblem], outcome: str = "") -> NoReturn:
    print_problems(problems, outcome)
    raise typer.Exit(1)


def fail(message: str) -> NoReturn:
    stderr().print(Text(f"error: {message}", style="red"))
    raise typer.Exit(1)


def load_or_exit(path: Path, outcome: str = "") -> Config:
    """The validated config at `path`, or every problem printed and exit 1."""
    from jairouter.adapters.registry import capabilities
    from jairouter.config.loader import load_config

    try:
        return load_config(path, adapters=capabilities())
    except ConfigError as exc:
        fail_with_problems(exc.problems, f" in {path}{outcome}")
