from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

Invoke = Callable[..., Result]

BROKEN = """\
server:
  prot: 8080
services:
  chat:
    load_balance: round-robbin
    instances:
      - model: qwen2.5:7b
        url: http://10.0.0.5:11434
        weight: heavy
"""


def test_valid_file_exits_0_with_a_summary(jairouter: Invoke, config_path: Path) -> None:
    assert jairouter("init").exit_code == 0
    result = jairouter("config", "validate")
    assert result.exit_code == 0
    assert result.stdout == f"{config_path} is valid: 1 service, 1 instance\n"


def test_invalid_file_lists_every_problem_with_position_and_hint(
    jairouter: Invoke, config_path: Path
) -> None:
    config_path.write_text(BROKEN, encoding="utf-8")
    result = jairouter("config", "validate")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{config_path}:2:3: server.prot: unknown key (hint: did you mean `port`?)",
        f"{config_path}:5:19: services.chat.load_balance: Input should be 'random', "
        "'round-robin', 'least-connections' or 'ip-hash' (hint: did you mean `round-robin`?)",
        f"{config_path}:9:17: services.chat.instances[0].weight: Input should be a valid integer, "
        "unable to parse string as an integer (hint: expected a whole number)",
        f"3 problems in {config_path}",
    ]


def test_json_output(jairouter: Invoke, config_path: Path) -> None:
    config_path.write_text(BROKEN, encoding="utf-8")
    result = jairouter("config", "validate", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["file"] == str(config_path)
    assert report["valid"] is False
    assert report["problems"][0] == {
        "file": str(config_path),
        "line": 2,
        "column": 3,
        "key": "server.prot",
        "message": "unknown key",
        "hint": "did you mean `port`?",
    }
    assert len(report["problems"]) == 3

    config_path.write_text("services: {}\n", encoding="utf-8")
    result = jairouter("config", "validate", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"file": str(config_path), "valid": True, "problems": []}


def test_yaml_syntax_error_has_a_position(jairouter: Invoke, config_path: Path) -> None:
    config_path.write_text("server:\n  host: [127.0.0.1\n  port: 80\n", encoding="utf-8")
    result = jairouter("config", "validate")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{config_path}:3:7: not valid YAML:")


def test_missing_file_says_to_run_init(jairouter: Invoke, config_path: Path) -> None:
    result = jairouter("config", "validate")
    assert result.exit_code == 1
    assert f"{config_path}: no such file (hint: create one with `jairouter init`" in result.stderr


def test_references_are_checked_against_the_environment(
    jairouter: Invoke, config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path.write_text(
        "services:\n  chat:\n    instances:\n      - model: gpt\n        url: https://api.x.com\n"
        "        api_key: ${JR_TEST_KEY}\n",
        encoding="utf-8",
    )
    monkeypatch.delenv("JR_TEST_KEY", raising=False)
    result = jairouter("config", "validate")
    assert result.exit_code == 1
    assert (
        f"{config_path}:6:18: services.chat.instances[0].api_key: "
        "environment variable JR_TEST_KEY is not set" in result.stderr
    )
    monkeypatch.setenv("JR_TEST_KEY", "sk-1")
    assert jairouter("config", "validate").exit_code == 0
