from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from jairouter.cli.main import app
from jairouter.cli.options import resolve_config_path


def test_option_beats_environment_beats_default() -> None:
    env = {"JAIROUTER_CONFIG": "/etc/jairouter/prod.yaml"}
    assert resolve_config_path(Path("mine.yaml"), env) == Path("mine.yaml")
    assert resolve_config_path(None, env) == Path("/etc/jairouter/prod.yaml")
    assert resolve_config_path(None, {}) == Path("jairouter.yaml")
    assert resolve_config_path(None, {"JAIROUTER_CONFIG": ""}) == Path("jairouter.yaml")


def test_commands_use_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JAIROUTER_CONFIG", str(tmp_path / "from-env.yaml"))
    assert CliRunner().invoke(app, ["init"]).exit_code == 0
    assert (tmp_path / "from-env.yaml").is_file()


def test_commands_default_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JAIROUTER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(app, ["init"]).exit_code == 0
    result = CliRunner().invoke(app, ["config", "validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("jairouter.yaml is valid")
