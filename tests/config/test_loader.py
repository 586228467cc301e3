from __future__ import annotations

from pathlib import Path

import pytest

from jairouter.adapters.registry import capabilities
from jairouter.config.loader import check_config, load_config, parse_config, read_config_text
from jairouter.errors import ConfigError, ConfigProblem
from jairouter.types import ServiceType

ADAPTERS = capabilities()

VALID = """\
server:
  port: 9000
  max_body_size: 1MiB
services:
  chat:
    load_balance: least-connections
    instances:
      - model: qwen2.5:7b
        url: http://10.0.0.5:11434/
        adapter: ollama
        weight: 2
"""


def problems_in(text: str, env: dict[str, str] | None = None) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "f.yaml", adapters=ADAPTERS, env=env or {})
    return caught.value.problems


def where(problem: ConfigProblem) -> tuple[int | None, int | None, str]:
    return problem.line, problem.column, problem.key


def test_valid_text_becomes_a_config() -> None:
    config = parse_config(VALID, "f.yaml", adapters=ADAPTERS, env={})
    assert config.server.port == 9000
    assert config.server.max_body_size == 1024 * 1024
    (inst,) = config.services[ServiceType.CHAT].instances
    assert (inst.model, inst.url, inst.adapter, inst.weight) == (
        "qwen2.5:7b",
        "http://10.0.0.5:11434",
        "ollama",
        2,
    )
    assert config.load_balance_of(ServiceType.CHAT) == "least-connections"


def test_empty_file_is_all_defaults() -> None:
    config = parse_config("# nothing yet\n", "f.yaml", env={})
    assert config.server.port == 8080
    assert config.services == {}


def test_every_problem_is_reported_with_line_column_key_and_hint() -> None:
    text = """\
server:
  hots: 0.0.0.0
  port: eighty
defaults:
  load_balance: round-robbin
services:
  chaat: {}
  chat:
    instances:
      - model: a
        url: ftp://x
        adapter: olama
      - url: http://y
"""
    found = problems_in(text)
    assert [where(p) for p in found] == [
        (2, 3, "server.hots"),
        (3, 9, "server.port"),
        (5, 17, "defaults.load_balance"),
        (7, 3, "services.chaat"),
        (11, 14, "services.chat.instances[0].url"),
        (12, 18, "services.chat.instances[0].adapter"),
        (13, 9, "services.chat.instances[1].model"),
    ]
    hints = [p.hint for p in found]
    assert hints[0] == "did you mean `host`?"
    assert hints[1] == "expected a whole number"
    assert hints[2] == "did you mean `round-robin`?"
    assert hints[3] == "did you mean `chat`?"
    assert hints[5] == "did you mean `ollama`?"
    assert (hints[6] or "").startswith("add `model:`")
    assert found[0].message == "unknown key"
    assert "http:// or https://" in found[4].message
    assert str(found[0]) == "f.yaml:2:3: server.hots: unknown key (hint: did you mean `host`?)"


def test_duplicate_instances_point_at_each_repeat() -> None:
    text = """\
services:
  chat:
    instances:
      - {model: a, url: http://x}
      - {model: a, url: http://x/}
      - {model: b, url: http://x}
      - {model: a, url: http://x}
"""
    found = problems_in(text)
    assert [where(p) for p in found] == [
        (5, 9, "services.chat.instances[1]"),
        (7, 9, "services.chat.instances[3]"),
    ]
    assert found[0].message == "instance a at http://x repeats instances[0]"


def test_adapter_that_cannot_serve_the_service_points_at_its_adapter_key() -> None:
    text = """\
services:
  rerank:
    instances:
      - model: bge
        url: http://x
        adapter: ollama
"""
    (problem,) = problems_in(text)
    assert where(problem) == (6, 18, "services.rerank.instances[0].adapter")
    assert "'ollama' cannot serve rerank" in problem.message
    assert "vllm" in problem.message


def test_adapters_go_unchecked_without_the_table() -> None:
    text = "services:\n  chat:\n    instances:\n      - {model: a, url: http://x, adapter: any}\n"
    assert parse_config(text, "f.yaml", env={}).services[ServiceType.CHAT].instances[0].adapter == (
        "any"
    )


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("server:\n  port: 1\n  port: 2\n", 3, 3),  # duplicate key
        ("services: [1\nserver: {}\n", 2, 7),
        ("server:\n  host: x\n port: 1\n", 3, 2),
    ],
)
def test_yaml_syntax_errors_have_a_position(text: str, line: int, column: int) -> None:
    (problem,) = problems_in(text)
    assert (problem.line, problem.column) == (line, column)
    assert problem.message.startswith("not valid YAML:")


def test_references_expand_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JR_TEST_KEY", "sk-secret")
    monkeypatch.setenv("JR_TEST_PORT", "9100")
    monkeypatch.delenv("JR_TEST_HOST", raising=False)
    text = """\
server:
  port: ${JR_TEST_PORT}
services:
  chat:
    instances:
      - model: gpt
        url: http://${JR_TEST_HOST:-10.1.1.1}:8000
        api_key: ${JR_TEST_KEY}
        headers: {X-Note: "$${literal}"}
"""
    config = parse_config(text, "f.yaml")
    assert config.server.port == 9100
    (inst,) = config.services[ServiceType.CHAT].instances
    assert inst.url == "http://10.1.1.1:8000"
    assert inst.api_key == "sk-secret"
    assert inst.headers == {"X-Note": "${literal}"}


def test_unset_variable_is_a_problem_at_its_line_and_hides_no_other() -> None:
    text = """\
server:
  port: ${PORT}
services:
  chat:
    instances:
      - model: gpt
        url: http://x
        weight: 0
        api_key: ${KEY}
"""
    found = problems_in(text, env={"UNRELATED": "1"})
    assert [where(p) for p in found] == [
        (2, 9, "server.port"),
        (8, 17, "services.chat.instances[0].weight"),
        (9, 18, "services.chat.instances[0].api_key"),
    ]
    assert found[0].message == "environment variable PORT is not set"


def test_check_config_can_tolerate_unset_variables() -> None:
    text = "services:\n  chat:\n    instances:\n      - {model: a, url: '${URL}', weight: 0}\n"
    assert [p.key for p in check_config(text, "f.yaml", env={})] == [
        "services.chat.instances[0].url",
        "services.chat.instances[0].weight",
    ]
    # An unexpandable value cannot be judged, so only the weight remains.
    tolerant = check_config(text, "f.yaml", env={}, require_env=False)
    assert [p.key for p in tolerant] == ["services.chat.instances[0].weight"]


def test_load_config_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "jairouter.yaml"
    path.write_text(VALID, encoding="utf-8")
    assert load_config(path, adapters=ADAPTERS, env={}).server.port == 9000


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml")
    (problem,) = caught.value.problems
    assert problem.message == "no such file"
    assert "jairouter init" in (problem.hint or "")
    assert read_config_text(tmp_path / "nope.yaml", missing_ok=True) == ""


def test_problems_are_in_file_order_across_kinds() -> None:
    text = (
        "services:\n  chat:\n    instances:\n      - {model: a, url: '${U}'}\nserver: {port: x}\n"
    )
    assert [p.line for p in problems_in(text)] == [4, 5]


def test_anchors_and_merges_are_followed_and_odd_values_still_explained() -> None:
    text = """\
services:
  chat:
    instances:
      - &box {model: a, url: http://x, adapter: ollama}
      - <<: *box
        model: b
      - model: c
        url: http://y
        adapter: {name: ollama}
"""
    (problem,) = problems_in(text)
    assert where(problem) == (9, 18, "services.chat.instances[2].adapter")
    assert problem.hint == "expected text (put the value in quotes)"


def test_unknown_key_with_no_close_match_lists_the_allowed_ones() -> None:
    (problem,) = problems_in("server:\n  zzz: 1\n")
    assert problem.hint == "allowed keys: host, port, max_body_size, trusted_proxies"
