"""`jairouter completions SHELL`: the shell completion script, for packagers and dotfiles.

The scripts are typer's: small shims that ask `jairouter` itself for candidates at each <Tab>,
so they complete new commands and options without being regenerated. Values come live too:
adapter names, and the services, models and URLs of the instances in the current config for
`backends remove|set|enable|disable` (callbacks in `cli/backends.py`). Copies are committed in
completions/ and a test keeps them equal to this command's output.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer


class Shell(StrEnum):
    BASH = "bash"
    ZSH = "zsh"
    FISH = "fish"


def completions(
    shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.", show_default=False)],
) -> None:
    """Print the completion script for SHELL.

    Save it where your shell looks: bash ~/.local/share/bash-completion/completions/jairouter,
    zsh a file named _jairouter on $fpath, fish ~/.config/fish/completions/jairouter.fish.
    """
    # The same script typer's --show-completion prints; typer exposes no public helper for a
    # named shell, hence the private import.
    from typer._completion_shared import get_completion_script

    typer.echo(
        get_completion_script(
            prog_name="jairouter", complete_var="_JAIROUTER_COMPLETE", shell=shell.value
        )
    )
