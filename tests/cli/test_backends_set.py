from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from jairouter.config.versions import list_versions

Invoke = Callable[..., Result]

# Comments, quoting and odd spacing everywhere: an edit may change only the lines it is about.
TEAM = """\
# shared by the whole team -- ask before changing
services:
  chat:
    load_balance: least-connections   # GPUs differ
    instances:
    # the big box
    - model: "qwen2.5:7b"
      url: http://10.0.0.5:11434   # GPU 1
      adapter: ollama
      weight: 2     # twice the small one
    # the small box
    - model: qwen2.5:7b
      url: http://10.0.0.6:11434
      adapter: ollama
      headers: {}   # none yet

  embedding:
    instances:
    - model: nomic
      url: http://10.0.0.7:11434
      api_key:      # fill in
      enabled: false   # waiting for the new disk


# trailing words
"""
BIG = ("chat", "qwen2.5:7b", "http://10.0.0.5:11434")
SMALL = ("chat", "qwen2.5:7b", "http://10.0.0.6:11434")
NOMIC = ("embedding", "nomic", "http://10.0.0.7:11434")


def flat(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


def changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True))
    return [line for line in diff if line[:1] in "+-"]


@pytest.fixture
def team(config_path: Path) -> Path:
    config_path.write_text(TEAM, encoding="utf-8")
    return config_path


def test_set_replaces_values_in_place_and_keeps_their_comments(
    jairouter: Invoke, team: Path
) -> None:
    result = jairouter("backends", "set", *BIG, "--weight", "5", "--adapter", "vllm")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"updated qwen2.5:7b at http://10.0.0.5:11434 in chat in {team}: weight=5, adapter=vllm\n"
    )
    assert changed_lines(TEAM, team.read_text(encoding="utf-8")) == [
        "-       adapter: ollama\n",
        "+       adapter: vllm\n",
        "-       weight: 2     # twice the small one\n",
        "+       weight: 5     # twice the small one\n",
    ]


def test_set_adds_missing_keys_at_the_end_of_the_instance(jairouter: Invoke, team: Path) -> None:
    result = jairouter(
        "backends", "set", *BIG, "--upstream-model", "qwen2.5:7b-instruct",
        "--header", "X-Team=ml", "--header", "Authorization=Bearer ${TOKEN}",
        "--api-key", "${OLLAMA_KEY}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "upstream_model=qwen2.5:7b-instruct, api_key, headers.X-Team" in result.stdout
    assert "${TOKEN}" not in result.stdout
    assert result.stderr == ""  # a ${VAR} key draws no warning
    assert changed_lines(TEAM, team.read_text(encoding="utf-8")) == [
        "+       upstream_model: qwen2.5:7b-instruct\n",
        "+       api_key: ${OLLAMA_KEY}\n",
        "+       headers:\n",
        "+         X-Team: ml\n",
        "+         Authorization: Bearer ${TOKEN}\n",
    ]


def test_set_fills_empty_values_and_placeholders(jairouter: Invoke, team: Path) -> None:
    assert jairouter("backends", "set", *SMALL, "--header", "X-Team=ml").exit_code == 0
    assert jairouter("backends", "set", *NOMIC, "--api-key", "${NOMIC_KEY}").exit_code == 0
    assert changed_lines(TEAM, team.read_text(encoding="utf-8")) == [
        "-       headers: {}   # none yet\n",
        "+       headers:    # none yet\n",  # the splicer's usual way with a `{}`
        "+         X-Team: ml\n",
        "-       api_key:      # fill in\n",
        "+       api_key: ${NOMIC_KEY}      # fill in\n",
    ]


def test_set_quotes_values_yaml_would_misread(jairouter: Invoke, team: Path) -> None:
    result = jairouter("backends", "set", *BIG, "--upstream-model", "true", "--header", "X-N=7")
    assert result.exit_code == 0, result.output
    listed = jairouter("backends", "list", "--json")
    assert json.loads(listed.stdout)[0]["upstream_model"] == "true"
    assert "      upstream_model: 'true'\n" in team.read_text(encoding="utf-8")
    assert "        X-N: '7'\n" in team.read_text(encoding="utf-8")


def test_set_with_the_values_already_there_writes_nothing(jairouter: Invoke, team: Path) -> None:
    result = jairouter("backends", "set", *BIG, "--weight", "2")
    assert result.exit_code == 0, result.output
    assert "already has these settings" in result.stdout
    assert team.read_text(encoding="utf-8") == TEAM
    assert list_versions(team) == []


def test_set_warns_when_a_literal_key_is_stored(jairouter: Invoke, team: Path) -> None:
    result = jairouter("backends", "set", *BIG, "--api-key", "sk-live-123")
    assert result.exit_code == 0, result.output
    assert "sk-live-123" not in result.stdout
    assert "'${VAR}' keeps it out of" in flat(result.stderr)


def test_disable_then_enable(jairouter: Invoke, team: Path) -> None:
    result = jairouter("backends", "disable", *BIG)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"disabled qwen2.5:7b at http://10.0.0.5:11434 in chat in {team}: "
        "kept in the file, sent no traffic\n"
    )
    assert changed_lines(TEAM, team.read_text(encoding="utf-8")) == ["+       enabled: false\n"]
    assert jairouter("backends", "disable", *BIG).stdout.endswith(
        f"is already disabled; {team} left unchanged\n"
    )
    result = jairouter("backends", "enable", *BIG)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"enabled qwen2.5:7b at http://10.0.0.5:11434 in chat in {team}\n"
    assert changed_lines(TEAM, team.read_text(encoding="utf-8")) == ["+       enabled: true\n"]


def test_enable_keeps_the_comment_and_touches_nothing_else(jairouter: Invoke, team: Path) -> None:
    result = jairouter("backends", "enable", *NOMIC)
    assert result.exit_code == 0, result.output
    assert changed_lines(TEAM, team.read_text(encoding="utf-8")) == [
        "-       enabled: false   # waiting for the new disk\n",
        "+       enabled: true   # waiting for the new disk\n",
    ]


def test_enabling_an_instance_without_the_key_writes_nothing(jairouter: Invoke, team: Path) -> None:
    result = jairouter("backends", "enable", *SMALL)
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(f"is already enabled; {team} left unchanged\n")
    assert team.read_text(encoding="utf-8") == TEAM


@pytest.mark.parametrize("command", ["set", "enable", "disable"])
def test_an_unknown_instance_exits_1_with_a_suggestion(
    jairouter: Invoke, team: Path, command: str
) -> None:
    extra = ["--weight", "3"] if command == "set" else []
    result = jairouter("backends", command, "chat", "qwen2.5:7b", "http://10.0.0.5:1143", *extra)
    assert result.exit_code == 1
    assert "no instance qwen2.5:7b at http://10.0.0.5:1143" in result.stderr
    assert "did you mean `qwen2.5:7b http://10.0.0.5:11434`?" in result.stderr
    assert f"1 problem; {team} left unchanged" in result.stderr
    assert team.read_text(encoding="utf-8") == TEAM


def test_a_missing_file_exits_1(jairouter: Invoke, config_path: Path) -> None:
    result = jairouter("backends", "disable", *BIG)
    assert result.exit_code == 1
    assert "no such file" in result.stderr
    assert not config_path.exists()


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        ((), "nothing to set"),
        (("--weight", "0"), "'--weight'"),
        (("--adapter", "olama"), "did you mean 'ollama'?"),
        (("--header", "X-Team"), "'X-Team' is not NAME=VALUE"),
        (("--header", "=x"), "'=x' is not NAME=VALUE"),
    ],
    ids=["nothing", "weight-range", "unknown-adapter", "header-without-value", "header-no-name"],
)
def test_bad_arguments_are_usage_errors(
    jairouter: Invoke, team: Path, args: tuple[str, ...], phrase: str
) -> None:
    result = jairouter("backends", "set", *BIG, *args)
    assert result.exit_code == 2
    assert phrase in flat(result.stderr)
    assert team.read_text(encoding="utf-8") == TEAM


def test_an_adapter_that_cannot_serve_the_service_is_a_usage_error(
    jairouter: Invoke, team: Path
) -> None:
    result = jairouter("backends", "set", "rerank", "m", "http://x", "--adapter", "ollama")
    assert result.exit_code == 2
    assert "ollama cannot serve rerank" in flat(result.stderr)
    assert team.read_text(encoding="utf-8") == TEAM


def test_a_result_that_would_not_validate_is_not_written(jairouter: Invoke, team: Path) -> None:
    result = jairouter("backends", "set", *BIG, "--upstream-model", "")
    assert result.exit_code == 1
    assert "services.chat.instances[0].upstream_model" in result.stderr
    assert team.read_text(encoding="utf-8") == TEAM


def test_a_flow_style_instance_is_refused_with_a_hint(jairouter: Invoke, config_path: Path) -> None:
    text = "services:\n  chat:\n    instances:\n      - {model: a, url: http://a}\n"
    config_path.write_text(text, encoding="utf-8")
    result = jairouter("backends", "set", "chat", "a", "http://a", "--weight", "2")
    assert result.exit_code == 1
    assert "services.chat.instances[0]: is not an indented block" in result.stderr
    assert "edit by hand" in result.stderr
    assert config_path.read_text(encoding="utf-8") == text


def test_each_edit_keeps_a_version_named_after_it_without_secrets(
    jairouter: Invoke, team: Path
) -> None:
    assert jairouter("backends", "disable", *BIG).exit_code == 0
    secrets = ["--api-key", "sk-1", "--header", "Authorization=Bearer sk-2"]
    assert jairouter("backends", "set", *BIG, "--weight", "4", *secrets).exit_code == 0
    assert [v.description for v in list_versions(team)] == [
        "backends disable chat qwen2.5:7b http://10.0.0.5:11434",
        "backends set chat qwen2.5:7b http://10.0.0.5:11434 --weight 4 --api-key *** "
        "--header Authorization=***",
    ]
