"""The completion scripts committed in completions/ are what the CLI generates today."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from jairouter.cli.main import app

COMPLETIONS = Path(__file__).resolve().parents[2] / "completions"
FILES = {"bash": "jairouter.bash", "zsh": "_jairouter", "fish": "jairouter.fish"}


@pytest.mark.parametrize("shell", list(FILES))
def test_committed_script_matches_the_cli(shell: str) -> None:
    result = CliRunner().invoke(app, ["completions", shell])
    assert result.exit_code == 0, result.output
    assert "_JAIROUTER_COMPLETE=complete_" in result.stdout
    committed = (COMPLETIONS / FILES[shell]).read_text(encoding="utf-8")
    assert committed == result.stdout, (
        f"completions/{FILES[shell]} is stale; regenerate it with: "
        f"jairouter completions {shell} > completions/{FILES[shell]}"
    )


def test_unknown_shell_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["completions", "tcsh"])
    assert result.exit_code == 2


def complete_bash(line: str) -> list[str]:
    """What the bash script's callback answers when <Tab> is pressed at the end of `line`."""
    words = line.split(" ")
    env = {
        "_JAIROUTER_COMPLETE": "complete_bash",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(words) - 1),
    }
    result = CliRunner().invoke(app, [], env=env, prog_name="jairouter")
    assert result.exit_code == 0, result.output
    return result.stdout.split()


def test_scripts_complete_commands_and_adapter_names_live() -> None:
    assert {"init", "backends", "config", "completions"} <= set(complete_bash("jairouter "))
    assert complete_bash("jairouter backends ") == [
        "add",
        "list",
        "remove",
        "set",
        "enable",
        "disable",
    ]
    assert "ollama" in complete_bash("jairouter backends add chat m http://x --adapter ")
