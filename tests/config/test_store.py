from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from jairouter.adapters.registry import capabilities
from jairouter.config.loader import parse_config
from jairouter.config.store import (
    add_instance,
    remove_instance,
    save_config,
    set_service_keys,
    write_atomic,
)
from jairouter.errors import ConfigError
from jairouter.types import ServiceType

CHAT, EMBEDDING = ServiceType.CHAT, ServiceType.EMBEDDING

# Deliberately untidy: odd spacing, quotes, flow maps, comments everywhere, a ${VAR}.
USER_FILE = """\
# Our router.   Keep this header!
server: {host: 0.0.0.0,   port: 9000}   # flow style, odd spacing

services:
  chat:
    load_balance:   'least-connections'
    instances:
    # the big box
    - model: "qwen2.5:7b"
      url: http://10.0.0.5:11434   # GPU 1
      adapter: ollama
    # a comment about the embedding service, below the last chat instance

  embedding:
    instances:
    - model: nomic
      url: http://10.0.0.6:11434
      adapter: ollama
      api_key: ${EMBED_KEY}


# trailing words
"""

NEW = {"model": "gpt-4o", "url": "https://api.openai.com", "adapter": "openai", "weight": 3}


def split_insertion(before: str, after: str) -> tuple[int, list[str]]:
    """Where one block of lines was inserted into `before`, and the block; everything else
    must be byte-for-byte identical."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    added = len(new) - len(old)
    assert added > 0
    at = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), len(old))
    assert new[:at] == old[:at]
    assert new[at + added :] == old[at:]
    return at, new[at : at + added]


def test_add_appends_to_the_list_in_its_own_style_and_keeps_every_other_byte() -> None:
    after = add_instance(USER_FILE, "f.yaml", CHAT, NEW)
    at, lines = split_insertion(USER_FILE, after)
    assert at == 11  # right after the last chat instance, before the comment that follows it
    assert lines == [
        "    - model: gpt-4o\n",
        "      url: https://api.openai.com\n",
        "      adapter: openai\n",
        "      weight: 3\n",
    ]
    config = parse_config(after, "f.yaml", env={"EMBED_KEY": "k"})
    assert [i.model for i in config.services[CHAT].instances] == ["qwen2.5:7b", "gpt-4o"]


def test_add_keeps_references_unexpanded() -> None:
    item = {"model": "m", "url": "http://x", "api_key": "${OPENAI_API_KEY}"}
    after = add_instance(USER_FILE, "f.yaml", CHAT, item)
    assert "api_key: ${OPENAI_API_KEY}\n" in after
    assert "api_key: ${EMBED_KEY}\n" in after


def test_add_creates_a_missing_service_after_the_last_one() -> None:
    after = add_instance(USER_FILE, "f.yaml", ServiceType.RERANK, NEW)
    at, lines = split_insertion(USER_FILE, after)
    assert at == 19  # after the embedding instance's last line, before the blank lines
    assert lines[:3] == ["  rerank:\n", "    instances:\n", "    - model: gpt-4o\n"]


def test_add_quotes_values_that_yaml_would_misread() -> None:
    item = {"model": "7", "url": "http://x", "upstream_model": "a #b", "api_key": "true"}
    after = add_instance("", "f.yaml", CHAT, item)
    inst = parse_config(after, "f.yaml", env={}).services[CHAT].instances[0]
    assert (inst.model, inst.upstream_model, inst.api_key) == ("7", "a #b", "true")


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        ("", "services:\n  chat:\n    instances:\n      - model: m\n        url: http://x\n"),
        (
            "# hi",
            "# hi\nservices:\n  chat:\n    instances:\n      - model: m\n        url: http://x\n",
        ),
        (
            "server:\n    port: 1\n",
            "server:\n    port: 1\nservices:\n    chat:\n        instances:\n"
            "          - model: m\n            url: http://x\n",
        ),
        (
            "services:   # none yet\ndefaults: {}\n",
            "services:   # none yet\n  chat:\n    instances:\n      - model: m\n"
            "        url: http://x\ndefaults: {}\n",
        ),
        (
            "services: {}\n",
            "services:\n  chat:\n    instances:\n      - model: m\n        url: http://x\n",
        ),
        (
            "services:\n  chat:\n    instances: []  # later\n",
            "services:\n  chat:\n    instances:   # later\n      - model: m\n        url: http://x\n",
        ),
        (
            "services:\n  chat:\n    load_balance: random\n",
            "services:\n  chat:\n    load_balance: random\n    instances:\n      - model: m\n"
            "        url: http://x\n",
        ),
        (
            "services:\r\n  chat:\r\n    instances:\r\n      - model: a\r\n        url: http://a\r\n",
            "services:\r\n  chat:\r\n    instances:\r\n      - model: a\r\n        url: http://a\r\n"
            "      - model: m\r\n        url: http://x\r\n",
        ),
    ],
    ids=[
        "empty",
        "comment-only",
        "no-services",
        "null",
        "flow-empty",
        "empty-list",
        "no-list",
        "crlf",
    ],
)
def test_add_fills_in_whatever_is_missing(before: str, expected: str) -> None:
    assert add_instance(before, "f.yaml", CHAT, {"model": "m", "url": "http://x"}) == expected


def test_add_refuses_a_duplicate_pointing_at_it() -> None:
    with pytest.raises(ConfigError) as caught:
        add_instance(
            USER_FILE, "f.yaml", CHAT, {"model": "qwen2.5:7b", "url": "http://10.0.0.5:11434/"}
        )
    (problem,) = caught.value.problems
    assert (problem.line, problem.column, problem.key) == (9, 7, "services.chat.instances[0]")
    assert "already listed" in problem.message


def test_flow_style_lists_are_refused_with_a_hint() -> None:
    text = "services:\n  chat:\n    instances: [{model: a, url: http://a}]\n"
    for edit in (
        lambda: add_instance(text, "f.yaml", CHAT, NEW),
        lambda: remove_instance(text, "f.yaml", CHAT, "a", "http://a"),
    ):
        with pytest.raises(ConfigError) as caught:
            edit()
        (problem,) = caught.value.problems
        assert (problem.line, problem.column) == (3, 16)
        assert "indented lines" in (problem.hint or "")


def test_remove_takes_out_exactly_the_items_lines() -> None:
    with_new = add_instance(USER_FILE, "f.yaml", CHAT, NEW)
    assert (
        remove_instance(with_new, "f.yaml", CHAT, "gpt-4o", "https://api.openai.com/") == USER_FILE
    )


def test_remove_of_a_first_item_keeps_the_comments_around_it() -> None:
    with_new = add_instance(USER_FILE, "f.yaml", CHAT, NEW)
    after = remove_instance(with_new, "f.yaml", CHAT, "qwen2.5:7b", "http://10.0.0.5:11434")
    assert "    # the big box\n    - model: gpt-4o\n" in after
    assert "GPU 1" not in after  # the removed item's own comment goes with it
    assert after.count("\n") == with_new.count("\n") - 3


def test_removing_the_last_item_leaves_an_empty_list() -> None:
    after = remove_instance(USER_FILE, "f.yaml", EMBEDDING, "nomic", "http://10.0.0.6:11434")
    assert "  embedding:\n    instances: []\n\n\n# trailing words\n" in after
    assert parse_config(after, "f.yaml", env={}).services[EMBEDDING].instances == []


def test_remove_of_an_unknown_instance_suggests_the_close_one() -> None:
    with pytest.raises(ConfigError) as caught:
        remove_instance(USER_FILE, "f.yaml", CHAT, "qwen2.5:7b", "http://10.0.0.5:1143")
    (problem,) = caught.value.problems
    assert problem.key == "services.chat.instances"
    assert problem.hint == "did you mean `qwen2.5:7b http://10.0.0.5:11434`?"


def test_remove_from_a_missing_service_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no instances listed for rerank"):
        remove_instance(USER_FILE, "f.yaml", ServiceType.RERANK, "a", "http://a")


def test_save_refuses_an_invalid_file_and_leaves_the_old_one(tmp_path: Path) -> None:
    path = tmp_path / "jairouter.yaml"
    path.write_text(USER_FILE, encoding="utf-8")
    bad = add_instance(USER_FILE, str(path), CHAT, {"model": "m", "url": "ftp://x"})
    with pytest.raises(ConfigError) as caught:
        save_config(path, bad, adapters=capabilities())
    assert [p.key for p in caught.value.problems] == ["services.chat.instances[1].url"]
    assert path.read_text(encoding="utf-8") == USER_FILE
    assert os.listdir(tmp_path) == ["jairouter.yaml"]


def test_save_tolerates_variables_unset_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EMBED_KEY", raising=False)
    path = tmp_path / "jairouter.yaml"
    save_config(path, USER_FILE, adapters=capabilities())
    assert path.read_text(encoding="utf-8") == USER_FILE


def test_write_atomic_keeps_the_files_permissions(tmp_path: Path) -> None:
    path = tmp_path / "jairouter.yaml"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o640)
    write_atomic(path, "new")
    assert path.read_text(encoding="utf-8") == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["jairouter.yaml"]


def test_write_atomic_makes_new_files_private(tmp_path: Path) -> None:
    path = tmp_path / "jairouter.yaml"
    write_atomic(path, "new", overwrite=False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_atomic_without_overwrite_never_clobbers(tmp_path: Path) -> None:
    path = tmp_path / "jairouter.yaml"
    path.write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError):
        write_atomic(path, "starter", overwrite=False)
    assert path.read_text(encoding="utf-8") == "mine"
    assert os.listdir(tmp_path) == ["jairouter.yaml"]


SERVICE_FILE = """\
services:
  chat:   # the main service
    load_balance: random   # for now
    retry:
      attempts: 1   # once
      backoff_max: 2
    # instances below
    instances:
      - model: m
        url: http://x
  embedding:
    instances: []
"""


def test_set_service_key_replaces_a_scalar_in_place() -> None:
    after = set_service_keys(SERVICE_FILE, "f.yaml", CHAT, {"load_balance": "least-connections"})
    assert after == SERVICE_FILE.replace(
        "    load_balance: random   # for now\n", "    load_balance: least-connections\n"
    )


def test_set_service_key_replaces_a_whole_block_and_keeps_what_follows() -> None:
    after = set_service_keys(SERVICE_FILE, "f.yaml", CHAT, {"retry": {"attempts": 3}})
    assert after == SERVICE_FILE.replace(
        "    retry:\n      attempts: 1   # once\n      backoff_max: 2\n",
        "    retry:\n      attempts: 3\n",
    )
    config = parse_config(after, "f.yaml", env={})
    assert config.retry_of(CHAT).attempts == 3


def test_set_service_keys_adds_missing_ones_below_the_service() -> None:
    limit = [{"algorithm": "token-bucket", "capacity": 10, "rate": 2.5}]
    values = {"rate_limit": limit, "circuit_breaker": {}, "timeouts": {"connect": 2}}
    after = set_service_keys(SERVICE_FILE, "f.yaml", CHAT, values)
    at, lines = split_insertion(SERVICE_FILE, after)
    assert at == 10  # after the last instance, before the next service
    assert lines == [
        "    rate_limit:\n",
        "      - algorithm: token-bucket\n",
        "        capacity: 10\n",
        "        rate: 2.5\n",
        "    circuit_breaker: {}\n",
        "    timeouts:\n",
        "      connect: 2\n",
    ]
    assert parse_config(after, "f.yaml", env={}).services[CHAT].timeouts is not None


def test_set_service_keys_replaces_flow_and_empty_values() -> None:
    text = (
        "services:\n  chat:\n    retry: {attempts: 1}  # flow\n    timeouts:\n    instances: []\n"
    )
    after = set_service_keys(text, "f.yaml", CHAT, {"retry": {"attempts": 2}, "timeouts": {}})
    assert after == (
        "services:\n  chat:\n    retry:\n      attempts: 2\n    timeouts: {}\n    instances: []\n"
    )


def test_set_service_keys_keeps_the_user_file_outside_the_edit() -> None:
    after = set_service_keys(USER_FILE, "f.yaml", CHAT, {"load_balance": "ip-hash"})
    expected = USER_FILE.replace("load_balance:   'least-connections'", "load_balance: ip-hash")
    assert after == expected


def test_set_service_keys_on_a_missing_service_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no service rerank"):
        set_service_keys(SERVICE_FILE, "f.yaml", ServiceType.RERANK, {"load_balance": "random"})


def test_set_service_keys_refuses_a_flow_style_service() -> None:
    text = "services:\n  chat: {instances: []}\n"
    with pytest.raises(ConfigError) as caught:
        set_service_keys(text, "f.yaml", CHAT, {"load_balance": "random"})
    (problem,) = caught.value.problems
    assert (problem.line, "indented lines" in (problem.hint or "")) == (2, True)
