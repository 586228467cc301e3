from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from jairouter.config.loader import parse_config
from jairouter.config.syntax import load_yaml
from jairouter.config.versions import keep_version, list_versions, read_version, versions_dir
from jairouter.types import ServiceType
from tests.cli.conftest import CLUSTER

Invoke = Callable[..., Result]

ADDED = "      - model: m\n        url: http://x\n        adapter: openai\n"

SECRETS = """\
services:
  chat:
    instances:
      - model: gpt
        url: https://user:hunter2@api.x.com
        api_key: ${JR_TEST_KEY}
        headers:
          Authorization: Basic dXNlcjpwYXNz
          X-Api-Key: k-123
          x-goog-api-token: t-456
          X-Client-Secret: s-789
          X-Forwarded-Proto: https
          X-Auth: Bearer b-000
"""


def console_script() -> str:
    # The console script sits beside the interpreter, in a venv that need not be on PATH.
    return str(Path(sys.executable).with_name("jairouter"))


@pytest.fixture
def edited(jairouter: Invoke, config_path: Path) -> Path:
    """CLUSTER, then one `backends add`: version 1 is CLUSTER."""
    config_path.write_text(CLUSTER, encoding="utf-8")
    result = jairouter("backends", "add", "chat", "m", "http://x")
    assert result.exit_code == 0, result.output
    return config_path


def test_add_and_remove_keep_the_text_they_replace(jairouter: Invoke, edited: Path) -> None:
    assert jairouter("backends", "remove", "chat", "m", "http://x").exit_code == 0
    versions = list_versions(edited)
    assert [v.description for v in versions] == [
        "backends add chat m http://x --adapter openai",
        "backends remove chat m http://x",
    ]
    assert read_version(edited, 1) == CLUSTER
    assert read_version(edited, 2) == CLUSTER + ADDED
    assert edited.read_text(encoding="utf-8") == CLUSTER


def test_history_lists_versions(
    jairouter: Invoke, edited: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    result = jairouter("config", "history")
    assert result.exit_code == 0, result.output
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in result.stdout.splitlines()
        if "│" in line
    ]
    ((number, when, size, description),) = rows
    assert (number, size) == ("1", str(len(CLUSTER)))
    assert description == "backends add chat m http://x --adapter openai"
    assert len(when) == len("2026-11-26 12:44:32")


def test_history_json(jairouter: Invoke, edited: Path) -> None:
    result = jairouter("config", "history", "--json")
    assert result.exit_code == 0, result.output
    (version,) = json.loads(result.stdout)
    assert set(version) == {"number", "time", "description", "size"}
    assert (version["number"], version["size"]) == (1, len(CLUSTER))


def test_history_without_versions(jairouter: Invoke, config_path: Path) -> None:
    result = jairouter("config", "history")
    assert result.exit_code == 0
    assert "no versions of" in result.stdout
    assert json.loads(jairouter("config", "history", "--json").stdout) == []


def test_diff_shows_the_last_change_by_default(jairouter: Invoke, edited: Path) -> None:
    result = jairouter("config", "diff")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"--- {edited} (version 1)\n"
        f"+++ {edited}\n"
        "@@ -5,3 +5,6 @@\n"
        "       - model: qwen2.5:7b          # the one everyone uses\n"
        "         url: http://10.0.0.5:11434\n"
        "         adapter: ollama\n"
        "+      - model: m\n"
        "+        url: http://x\n"
        "+        adapter: openai\n"
    )


def test_diff_between_two_versions_and_against_the_file(jairouter: Invoke, edited: Path) -> None:
    assert jairouter("backends", "remove", "chat", "m", "http://x").exit_code == 0
    between = jairouter("config", "diff", "1", "2")
    assert between.exit_code == 0
    assert between.stdout.startswith(f"--- {edited} (version 1)\n+++ {edited} (version 2)\n")
    assert "+      - model: m\n" in between.stdout
    same = jairouter("config", "diff", "1")  # the file is back to version 1
    assert (same.exit_code, same.stdout) == (0, "")


def test_diff_marks_a_missing_final_newline(jairouter: Invoke, edited: Path) -> None:
    edited.write_text(CLUSTER + ADDED.rstrip("\n"), encoding="utf-8")
    result = jairouter("config", "diff")
    assert result.exit_code == 0
    assert result.stdout.endswith("+        adapter: openai\n\\ No newline at end of file\n")


@pytest.mark.parametrize("args", [("7",), ("1", "7"), ("0",)])
def test_diff_of_an_unknown_version_exits_1(
    jairouter: Invoke, edited: Path, args: tuple[str, ...]
) -> None:
    result = jairouter("config", "diff", *args)
    assert result.exit_code == 1
    assert "of this file is kept (hint: kept: 1 to 1;" in result.stderr


def test_diff_without_versions_exits_1(jairouter: Invoke, config_path: Path) -> None:
    config_path.write_text(CLUSTER, encoding="utf-8")
    result = jairouter("config", "diff")
    assert result.exit_code == 1
    assert "no versions of" in result.stderr


def test_rollback_round_trip(jairouter: Invoke, edited: Path) -> None:
    assert jairouter("backends", "add", "chat", "n", "http://y").exit_code == 0
    result = jairouter("config", "rollback", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"rolled {edited} back to version 1; the text it replaced is version 3\n"
    )
    assert "jairouter reload" in result.stderr
    assert edited.read_text(encoding="utf-8") == CLUSTER  # byte for byte, comments and all
    assert list_versions(edited)[-1].description == "rollback to 1"
    assert jairouter("config", "diff", "1").stdout == ""

    # Undoing the rollback is one more rollback.
    assert jairouter("config", "rollback", "3").exit_code == 0
    assert [r["model"] for r in json.loads(jairouter("backends", "list", "--json").stdout)] == [
        "qwen2.5:7b",
        "m",
        "n",
    ]
    again = jairouter("config", "rollback", "3")
    assert again.exit_code == 0
    assert "already matches version 3; nothing written" in again.stdout
    assert len(list_versions(edited)) == 4


def test_rollback_to_an_unknown_version_exits_1(jairouter: Invoke, edited: Path) -> None:
    result = jairouter("config", "rollback", "9")
    assert result.exit_code == 1
    assert "no version 9 of this file is kept" in result.stderr
    assert edited.read_text(encoding="utf-8") == CLUSTER + ADDED


def test_rollback_to_a_version_that_no_longer_validates_exits_1(
    jairouter: Invoke, edited: Path
) -> None:
    keep_version(edited, "services:\n  chat:\n    instancs: []\n", "an edit by hand")
    result = jairouter("config", "rollback", "2")
    assert result.exit_code == 1
    assert f"{versions_dir(edited) / '000002.yaml'}:3:5: services.chat.instancs" in result.stderr
    assert f"1 problem; {edited} left unchanged" in result.stderr
    assert edited.read_text(encoding="utf-8") == CLUSTER + ADDED


def test_show_fills_in_defaults(jairouter: Invoke, edited: Path) -> None:
    result = jairouter("config", "show")
    assert result.exit_code == 0, result.output
    shown = load_yaml(result.stdout, "shown")
    assert shown["server"] == {
        "host": "127.0.0.1",
        "port": 8080,
        "max_body_size": 32 * 1024 * 1024,
        "trusted_proxies": [],
    }
    assert shown["defaults"]["timeouts"]["idle"] == 120.0
    assert shown["services"]["chat"]["instances"][1] == {
        "model": "m",
        "url": "http://x",
        "adapter": "openai",
        "weight": 1,
        "enabled": True,
        "headers": {},
    }
    as_json = jairouter("config", "show", "--json")
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout) == json.loads(json.dumps(shown))


def test_show_masks_secrets(
    jairouter: Invoke, config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JR_TEST_KEY", "sk-live-42")
    config_path.write_text(SECRETS, encoding="utf-8")
    for args in ((), ("--json",)):
        result = jairouter("config", "show", *args)
        assert result.exit_code == 0, result.output
        for secret in ("sk-live-42", "hunter2", "dXNlcjpwYXNz", "k-123", "t-456", "s-789", "b-000"):
            assert secret not in result.stdout
        shown = load_yaml(result.stdout, "shown")
        (instance,) = shown["services"]["chat"]["instances"]
        assert instance["api_key"] == "***"
        assert instance["url"] == "https://user:***@api.x.com"
        assert instance["headers"] == {
            "Authorization": "***",
            "X-Api-Key": "***",
            "x-goog-api-token": "***",
            "X-Client-Secret": "***",
            "X-Forwarded-Proto": "https",
            "X-Auth": "***",
        }


def test_show_of_an_invalid_file_exits_1(jairouter: Invoke, config_path: Path) -> None:
    config_path.write_text("services:\n  chat:\n    instancs: []\n", encoding="utf-8")
    result = jairouter("config", "show")
    assert result.exit_code == 1
    assert "did you mean `instances`?" in result.stderr


def test_parallel_processes_lose_no_change(config_path: Path) -> None:
    """Twenty `jairouter backends add` processes at once, through the real console script."""
    config_path.write_text(CLUSTER, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "JAIROUTER_CONFIG"}

    def add(n: int) -> list[str]:
        url = f"http://10.0.1.{n}:8000"
        return [console_script(), "backends", "add", "chat", f"m{n}", url, "-c", str(config_path)]

    processes = [
        subprocess.Popen(add(n), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for n in range(20)
    ]
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert out.startswith("added m")

    text = config_path.read_text(encoding="utf-8")
    assert text.startswith(CLUSTER)
    models = [i.model for i in parse_config(text, "f", env={}).services[ServiceType.CHAT].instances]
    assert sorted(models) == sorted(["qwen2.5:7b", *(f"m{n}" for n in range(20))])
    versions = list_versions(config_path)
    assert [v.number for v in versions] == list(range(1, 21))
    for version in versions:
        kept = parse_config(read_version(config_path, version.number), "v", env={})
        assert len(kept.services[ServiceType.CHAT].instances) == version.number
    assert sorted(os.listdir(config_path.parent)) == [
        ".jairouter.yaml.lock",
        ".jairouter.yaml.versions",
        "jairouter.yaml",
    ]
    on_disk = sorted(os.listdir(versions_dir(config_path)))
    assert on_disk == [*(f"{n:06d}.yaml" for n in range(1, 21)), "index.jsonl"]
