from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from jairouter.cli.main import app
from tests.cli.conftest import CLUSTER

Invoke = Callable[..., Result]


def flat(text: str) -> str:
    """Output with rich's panel borders and line wrapping undone, for matching phrases."""
    return " ".join(text.replace("│", " ").split())


def changed_lines(before: str, after: str) -> list[str]:
    """The diff between two texts as `+ line` / `- line` entries (nothing else changed)."""
    diff = difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True))
    return [line for line in diff if line[:1] in "+-"]


def listed(jairouter: Invoke) -> list[dict[str, object]]:
    result = jairouter("backends", "list", "--json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_add_creates_the_file_and_list_shows_it(jairouter: Invoke, config_path: Path) -> None:
    result = jairouter("backends", "add", "embedding", "nomic", "http://10.0.0.6:11434/v1")
    assert result.exit_code == 0, result.output
    assert "added nomic at http://10.0.0.6:11434/v1 to embedding" in result.stdout
    assert config_path.is_file()
    assert listed(jairouter) == [
        {
            "service": "embedding",
            "strategy": "round-robin",
            "model": "nomic",
            "url": "http://10.0.0.6:11434/v1",
            "adapter": "openai",
            "weight": 1,
            "upstream_model": None,
            "enabled": True,
        }
    ]


def test_add_only_inserts_its_own_lines(jairouter: Invoke, config_path: Path) -> None:
    assert jairouter("init").exit_code == 0
    before = config_path.read_text(encoding="utf-8")
    result = jairouter(
        "backends", "add", "chat", "gpt-4o", "https://api.openai.com",
        "--weight", "3", "--upstream-model", "gpt-4o-2024-08-06",
        "--api-key", "${OPENAI_API_KEY}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert changed_lines(before, config_path.read_text(encoding="utf-8")) == [
        "+       - model: gpt-4o\n",
        "+         url: https://api.openai.com\n",
        "+         adapter: openai\n",
        "+         weight: 3\n",
        "+         upstream_model: gpt-4o-2024-08-06\n",
        "+         api_key: ${OPENAI_API_KEY}\n",
    ]
    assert result.stderr == ""  # a ${VAR} key draws no warning


def test_add_warns_when_a_literal_key_is_stored(jairouter: Invoke) -> None:
    result = jairouter("backends", "add", "chat", "m", "http://x", "--api-key", "sk-live-123")
    assert result.exit_code == 0, result.output
    assert "'${VAR}' keeps it out of" in flat(result.stderr)


def test_add_into_a_service_keeps_comments_byte_for_byte(
    jairouter: Invoke, config_path: Path
) -> None:
    config_path.write_text(CLUSTER, encoding="utf-8")
    result = jairouter(
        "backends", "add", "chat", "llama3.1:8b", "http://10.0.0.7:11434", "--adapter", "ollama"
    )
    assert result.exit_code == 0, result.output
    after = config_path.read_text(encoding="utf-8")
    assert after == CLUSTER + (
        "      - model: llama3.1:8b\n        url: http://10.0.0.7:11434\n        adapter: ollama\n"
    )


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (("chatt", "m", "http://x"), "'chatt' is not one of 'chat'"),
        (("chat", "m", "http://x", "--adapter", "olama"), "did you mean 'ollama'?"),
        (("rerank", "m", "http://x", "--adapter", "ollama"), "ollama cannot serve rerank"),
        (("chat", "m", "http://x", "--weight", "0"), "'--weight'"),
    ],
    ids=["unknown-service", "unknown-adapter", "adapter-cannot-serve", "weight-range"],
)
def test_bad_arguments_are_usage_errors(
    jairouter: Invoke, config_path: Path, args: tuple[str, ...], phrase: str
) -> None:
    config_path.write_text(CLUSTER, encoding="utf-8")
    result = jairouter("backends", "add", *args)
    assert result.exit_code == 2
    assert phrase in flat(result.stderr)
    assert config_path.read_text(encoding="utf-8") == CLUSTER


def test_duplicate_is_refused_and_the_file_left_alone(jairouter: Invoke, config_path: Path) -> None:
    config_path.write_text(CLUSTER, encoding="utf-8")
    result = jairouter(
        "backends", "add", "chat", "qwen2.5:7b", "http://10.0.0.5:11434/", "--adapter", "ollama"
    )
    assert result.exit_code == 1
    assert f"{config_path}:5:9: services.chat.instances[0]: qwen2.5:7b at" in result.stderr
    assert f"1 problem; {config_path} left unchanged" in result.stderr
    assert config_path.read_text(encoding="utf-8") == CLUSTER


def test_an_edit_that_would_not_validate_is_not_written(
    jairouter: Invoke, config_path: Path
) -> None:
    config_path.write_text(CLUSTER, encoding="utf-8")
    result = jairouter("backends", "add", "chat", "m", "ftp://10.0.0.9")
    assert result.exit_code == 1
    assert f"{config_path}:9:14: services.chat.instances[1].url: must be an http" in result.stderr
    assert config_path.read_text(encoding="utf-8") == CLUSTER


def test_remove_takes_the_instance_out(jairouter: Invoke, config_path: Path) -> None:
    config_path.write_text(CLUSTER, encoding="utf-8")
    assert jairouter("backends", "add", "chat", "m", "http://x").exit_code == 0
    result = jairouter("backends", "remove", "chat", "qwen2.5:7b", "http://10.0.0.5:11434")
    assert result.exit_code == 0, result.output
    assert "removed qwen2.5:7b at http://10.0.0.5:11434 from chat" in result.stdout
    assert [row["model"] for row in listed(jairouter)] == ["m"]
    assert config_path.read_text(encoding="utf-8").startswith("# shared by the whole team")


def test_remove_of_something_not_there_is_an_error(jairouter: Invoke, config_path: Path) -> None:
    config_path.write_text(CLUSTER, encoding="utf-8")
    result = jairouter("backends", "remove", "chat", "qwen2.5:7b", "http://10.0.0.5:1143")
    assert result.exit_code == 1
    assert "no instance qwen2.5:7b at http://10.0.0.5:1143" in result.stderr
    assert "did you mean `qwen2.5:7b http://10.0.0.5:11434`?" in result.stderr
    assert config_path.read_text(encoding="utf-8") == CLUSTER


def test_remove_without_a_file_points_at_init(jairouter: Invoke) -> None:
    result = jairouter("backends", "remove", "chat", "m", "http://x")
    assert result.exit_code == 1
    assert "no such file" in result.stderr
    assert "jairouter init" in result.stderr


def test_list_shows_a_table_without_secrets(
    jairouter: Invoke, config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")  # wide enough that rich folds no cell
    config_path.write_text(CLUSTER, encoding="utf-8")
    added = jairouter("backends", "add", "chat", "gpt", "https://api.x.com", "--api-key", "sk-9")
    assert added.exit_code == 0, added.output
    result = jairouter("backends", "list")
    assert result.exit_code == 0, result.output
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in result.stdout.splitlines()
        if "│" in line
    ]
    assert rows == [
        ["chat", "round-robin", "qwen2.5:7b", "http://10.0.0.5:11434", "ollama", "1", "", "yes"],
        ["chat", "round-robin", "gpt", "https://api.x.com", "openai", "1", "", "yes"],
    ]
    assert "sk-9" not in result.stdout


def test_list_expands_references(
    jairouter: Invoke, config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JR_TEST_OLLAMA", "http://10.9.9.9:11434")
    config_path.write_text(
        "services:\n  chat:\n    instances:\n      - model: m\n        url: ${JR_TEST_OLLAMA}\n",
        encoding="utf-8",
    )
    assert [row["url"] for row in listed(jairouter)] == ["http://10.9.9.9:11434"]


def test_list_of_an_empty_config_says_how_to_add(jairouter: Invoke, config_path: Path) -> None:
    config_path.write_text("services: {}\n", encoding="utf-8")
    result = jairouter("backends", "list")
    assert result.exit_code == 0
    assert "lists no instances; add one with `jairouter backends add`" in result.stdout
    assert listed(jairouter) == []


def test_list_of_an_invalid_file_reports_its_problems(jairouter: Invoke, config_path: Path) -> None:
    config_path.write_text("services:\n  chat:\n    instancs: []\n", encoding="utf-8")
    result = jairouter("backends", "list")
    assert result.exit_code == 1
    assert "did you mean `instances`?" in result.stderr


def test_add_into_a_missing_directory_fails_cleanly(tmp_path: Path) -> None:
    target = tmp_path / "nope" / "jairouter.yaml"
    result = CliRunner().invoke(
        app, ["backends", "add", "chat", "m", "http://x", "-c", str(target)]
    )
    assert result.exit_code == 1
    assert f"error: cannot write {target}" in result.stderr
