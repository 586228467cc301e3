"""`jairouter config import-jairouter`: where it writes, when it refuses, what it prints."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner, Result

from jairouter.cli.main import app

Invoke = Callable[..., Result]
FIXTURE = Path(__file__).parents[1] / "config" / "fixtures" / "jairouter-application.yml"
SOURCE = str(FIXTURE)


def test_writes_the_config_path_and_lists_what_was_left_out(
    jairouter: Invoke, config_path: Path
) -> None:
    result = jairouter("config", "import-jairouter", SOURCE)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"imported {SOURCE} into {config_path}: 7 services, 10 instances"
    assert lines[1] == "18 settings left out or changed:"
    assert f"  {SOURCE}:49:7: model.services.chat.sticky: no session stickiness" in result.stdout
    assert len(lines) == 2 + 18
    assert config_path.read_text(encoding="utf-8").startswith(f"# Imported from {SOURCE}")
    assert jairouter("config", "validate").exit_code == 0


def test_never_overwrites_without_force(jairouter: Invoke, config_path: Path) -> None:
    config_path.write_text("# my hand-made config\n", encoding="utf-8")
    result = jairouter("config", "import-jairouter", SOURCE)
    assert result.exit_code == 1
    assert f"{config_path} already exists; pass --force to overwrite it" in result.stderr
    assert config_path.read_text(encoding="utf-8") == "# my hand-made config\n"
    assert jairouter("config", "import-jairouter", SOURCE, "--force").exit_code == 0
    assert "services:" in config_path.read_text(encoding="utf-8")


def test_output_option_writes_elsewhere(
    jairouter: Invoke, config_path: Path, tmp_path: Path
) -> None:
    target = tmp_path / "imported.yaml"
    result = jairouter("config", "import-jairouter", SOURCE, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert target.exists()
    assert not config_path.exists()


def test_dash_prints_the_config_and_keeps_the_summary_off_stdout(
    jairouter: Invoke, config_path: Path
) -> None:
    result = jairouter("config", "import-jairouter", SOURCE, "-o", "-")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"# Imported from {SOURCE}")
    assert "services:\n  chat:\n" in result.stdout
    assert "imported" not in result.stdout.splitlines()[-1]
    assert result.stderr.startswith(f"imported {SOURCE}: 7 services, 10 instances\n")
    assert not config_path.exists()


def test_json_output(jairouter: Invoke, config_path: Path) -> None:
    result = jairouter("config", "import-jairouter", SOURCE, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["output"] == str(config_path)
    assert report["written"] is True
    assert report["instances"] == 10
    assert report["services"]["image-generation"] == 1
    assert "config" not in report
    assert {
        "file": SOURCE,
        "line": 49,
        "column": 7,
        "key": "model.services.chat.sticky",
        "reason": "no session stickiness; `load_balance: ip-hash` keeps a client on one instance",
    } in report["unmapped"]
    printed = json.loads(
        jairouter("config", "import-jairouter", SOURCE, "-o", "-", "--json").stdout
    )
    assert printed["written"] is False
    assert printed["config"] == config_path.read_text(encoding="utf-8")


def test_broken_yaml_exits_1_with_its_position(
    jairouter: Invoke, config_path: Path, tmp_path: Path
) -> None:
    source = tmp_path / "application.yml"
    source.write_text("model:\n  services:\n    chat: [\n", encoding="utf-8")
    result = jairouter("config", "import-jairouter", str(source))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{source}:4:1: not valid YAML")
    assert f"1 problem in {source}; nothing written" in result.stderr
    assert not config_path.exists()
    report = json.loads(jairouter("config", "import-jairouter", str(source), "--json").stdout)
    assert (report["written"], report["problems"][0]["line"]) == (False, 4)


def test_missing_or_foreign_source_exits_1(jairouter: Invoke, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"
    result = jairouter("config", "import-jairouter", str(missing))
    assert result.exit_code == 1
    assert f"{missing}: no such file" in result.stderr
    foreign = tmp_path / "other.yml"
    foreign.write_text("server:\n  port: 8080\n", encoding="utf-8")
    result = jairouter("config", "import-jairouter", str(foreign))
    assert result.exit_code == 1
    assert "no `model:` section found" in result.stderr


def test_source_is_required() -> None:
    result = CliRunner().invoke(app, ["config", "import-jairouter"])
    assert result.exit_code == 2
