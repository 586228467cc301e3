from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner, Result

from jairouter.cli.main import app
from jairouter.config.starter import STARTER

Invoke = Callable[..., Result]


def test_init_writes_the_commented_starter(jairouter: Invoke, config_path: Path) -> None:
    result = jairouter("init")
    assert result.exit_code == 0, result.output
    assert config_path.read_text(encoding="utf-8") == STARTER
    assert str(config_path) in result.stdout
    assert jairouter("config", "validate").exit_code == 0


def test_init_never_overwrites_without_force(jairouter: Invoke, config_path: Path) -> None:
    config_path.write_text("# my hand-made config\n", encoding="utf-8")
    result = jairouter("init")
    assert result.exit_code == 1
    assert "already exists; pass --force to overwrite it" in result.stderr
    assert config_path.read_text(encoding="utf-8") == "# my hand-made config\n"


def test_init_force_overwrites(jairouter: Invoke, config_path: Path) -> None:
    config_path.write_text("# my hand-made config\n", encoding="utf-8")
    assert jairouter("init", "--force").exit_code == 0
    assert config_path.read_text(encoding="utf-8") == STARTER


def test_init_into_a_missing_directory_fails_cleanly(tmp_path: Path) -> None:
    target = tmp_path / "nope" / "jairouter.yaml"
    result = CliRunner().invoke(app, ["init", "--config", str(target)])
    assert result.exit_code == 1
    assert f"cannot write {target}" in result.stderr
