"""The completion scripts committed in completions/ are what the CLI generates today."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from jairouter.cli.main import app
from jairouter.types import ServiceType

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


CONFIG = """\
services:
  chat:
    instances:
      - model: qwen
        url: http://10.0.0.5:11434
      - model: qwen
        url: http://10.0.0.6:11434
        weight: not-a-number   # invalid, yet the YAML still completes
      - model: llama
        url: http://10.0.0.7:8000
  embedding:
    instances:
      - model: nomic
        url: http://10.0.0.8:11434
"""


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "jairouter.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("JAIROUTER_CONFIG", str(path))
    return path


@pytest.mark.parametrize("command", ["remove", "set", "enable", "disable"])
def test_instances_complete_from_the_config(configured: Path, command: str) -> None:
    line = f"jairouter backends {command}"
    assert complete_bash(f"{line} ") == ["chat", "embedding"]
    assert complete_bash(f"{line} e") == ["embedding"]
    assert complete_bash(f"{line} chat ") == ["qwen", "llama"]
    assert complete_bash(f"{line} embedding n") == ["nomic"]
    assert complete_bash(f"{line} chat qwen ") == ["http://10.0.0.5:11434", "http://10.0.0.6:11434"]
    assert complete_bash(f"{line} chat llama ") == ["http://10.0.0.7:8000"]
    assert complete_bash(f"{line} chat nope ") == []
    assert complete_bash(f"{line} rerank ") == []


def test_the_config_option_on_the_line_is_read(
    configured: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JAIROUTER_CONFIG", str(tmp_path / "missing.yaml"))
    line = f"jairouter backends remove --config {configured} chat "
    assert complete_bash(line) == ["qwen", "llama"]


def test_a_missing_or_broken_config_completes_no_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = [service.value for service in ServiceType]
    for text in (None, "services: [unclosed\n", "just a string\n", "services:\n  chat: 3\n"):
        path = tmp_path / "jairouter.yaml"
        if text is not None:
            path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("JAIROUTER_CONFIG", str(path))
        assert complete_bash("jairouter backends disable ") == every
        assert complete_bash("jairouter backends disable chat ") == []
        assert complete_bash("jairouter backends disable chat m ") == []


def test_add_still_offers_every_service_and_adapters_complete_by_prefix(configured: Path) -> None:
    every = [service.value for service in ServiceType]
    assert complete_bash("jairouter backends add ") == every
    assert complete_bash("jairouter backends set chat qwen http://x --adapter oll") == ["ollama"]
