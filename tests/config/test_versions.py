from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from jairouter.adapters.registry import capabilities
from jairouter.config.loader import parse_config
from jairouter.config.store import Edit, add_instance, edit_config, save_config
from jairouter.config.syntax import load_yaml
from jairouter.config.versions import (
    keep_version,
    list_versions,
    read_version,
    version_file,
    versions_dir,
)
from jairouter.errors import ConfigError
from jairouter.types import ServiceType

CHAT = ServiceType.CHAT

START = """\
# the team's router -- comments must survive every edit
services:
  chat:
    instances:
      - model: base   # the first one
        url: http://10.0.0.1:8000
"""


def fixed(when: str) -> datetime:
    return datetime.fromisoformat(when)


def adding(path: Path, model: str, url: str = "http://10.0.0.9:8000") -> Callable[[str], str]:
    def change(text: str) -> str:
        return add_instance(text, str(path), CHAT, {"model": model, "url": url})

    return change


@pytest.fixture
def path(tmp_path: Path) -> Path:
    config = tmp_path / "jairouter.yaml"
    config.write_text(START, encoding="utf-8")
    return config


def test_a_version_is_a_private_numbered_file_with_an_index_line(path: Path) -> None:
    version = keep_version(
        path, "a: 1\n", "backends add chat m\nhttp://x", now=lambda: fixed("2026-01-02T03:04:05Z")
    )
    assert version.as_json() == {
        "number": 1,
        "time": "2026-01-02T03:04:05+00:00",
        "description": "backends add chat m http://x",  # always one line
        "size": 5,
    }
    directory = versions_dir(path)
    assert directory == path.parent / ".jairouter.yaml.versions"
    assert sorted(os.listdir(directory)) == ["000001.yaml", "index.jsonl"]
    assert version_file(path, 1).read_text(encoding="utf-8") == "a: 1\n"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(version_file(path, 1).stat().st_mode) == 0o600
    index = (directory / "index.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in index] == [version.as_json()]
    assert list_versions(path) == [version]
    assert read_version(path, 1) == "a: 1\n"


def test_only_the_last_versions_are_kept_and_numbers_keep_growing(path: Path) -> None:
    for n in range(1, 6):
        keep_version(path, f"n: {n}\n", f"change {n}", keep=3)
    assert [v.number for v in list_versions(path)] == [3, 4, 5]
    assert sorted(os.listdir(versions_dir(path))) == [
        "000003.yaml",
        "000004.yaml",
        "000005.yaml",
        "index.jsonl",
    ]
    assert read_version(path, 5) == "n: 5\n"
    assert keep_version(path, "n: 6\n", "change 6", keep=3).number == 6


def test_an_unknown_version_names_those_kept(path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        read_version(path, 1)
    assert caught.value.problems[0].hint == "a version is kept each time jairouter changes the file"
    keep_version(path, "a: 1\n", "one")
    keep_version(path, "a: 2\n", "two")
    with pytest.raises(ConfigError, match="no version 7 of this file is kept") as caught:
        read_version(path, 7)
    assert caught.value.problems[0].hint == "kept: 1 to 2; see `jairouter config history`"


def test_a_crash_between_file_and_index_costs_nothing_but_a_number(path: Path) -> None:
    keep_version(path, "a: 1\n", "one")
    versions_dir(path).joinpath("000002.yaml").write_text("orphan", encoding="utf-8")
    with versions_dir(path).joinpath("index.jsonl").open("a", encoding="utf-8") as index:
        index.write("{not json\n")
    assert keep_version(path, "a: 3\n", "three").number == 3
    assert [v.number for v in list_versions(path)] == [1, 3]
    assert not version_file(path, 2).exists()


def test_edit_keeps_the_replaced_text_as_a_version(path: Path) -> None:
    done = edit_config(path, adding(path, "m"), "backends add chat m http://10.0.0.9:8000")
    assert done.changed
    assert done.version is not None
    assert done.version.description == "backends add chat m http://10.0.0.9:8000"
    assert read_version(path, done.version.number) == START
    after = path.read_text(encoding="utf-8")
    assert after.startswith(START)
    assert "model: m" in after
    assert sorted(os.listdir(path.parent)) == [
        ".jairouter.yaml.lock",
        ".jairouter.yaml.versions",
        "jairouter.yaml",
    ]


def test_creating_the_file_keeps_no_version(tmp_path: Path) -> None:
    path = tmp_path / "jairouter.yaml"
    done = edit_config(path, adding(path, "m"), "add", missing_ok=True)
    assert done == Edit(changed=True, version=None)
    assert list_versions(path) == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_missing_file_is_an_error_before_any_lock_file_is_made(tmp_path: Path) -> None:
    path = tmp_path / "jairouter.yaml"
    with pytest.raises(ConfigError, match="no such file"):
        edit_config(path, lambda text: text + "x: 1\n", "edit")
    assert os.listdir(tmp_path) == []


def test_an_invalid_result_writes_nothing_and_keeps_nothing(path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        edit_config(path, adding(path, "m", "ftp://x"), "add", adapters=capabilities())
    assert [p.key for p in caught.value.problems] == ["services.chat.instances[1].url"]
    assert path.read_text(encoding="utf-8") == START
    assert list_versions(path) == []


def test_a_change_that_changes_nothing_is_not_written(path: Path) -> None:
    mtime = path.stat().st_mtime_ns
    assert edit_config(path, lambda text: text, "nothing") == Edit(changed=False, version=None)
    assert path.stat().st_mtime_ns == mtime
    assert list_versions(path) == []


def test_save_config_keeps_a_version_when_it_replaces_a_file(path: Path) -> None:
    save_config(path, "services: {}\n", description="emptied")
    (version,) = list_versions(path)
    assert (version.description, read_version(path, version.number)) == ("emptied", START)
    save_config(path, "services: {}\n")  # the same text again: not written, nothing kept
    assert len(list_versions(path)) == 1


def test_concurrent_writers_lose_no_change(path: Path) -> None:
    """Twenty threads add an instance each at once: all twenty end up in the file, and each
    kept version is a whole, valid file."""
    models = [f"m{n}" for n in range(20)]

    def add(model: str) -> Edit:
        url = f"http://10.0.1.{models.index(model)}:8000"
        return edit_config(path, adding(path, model, url), f"add {model}", adapters=capabilities())

    with ThreadPoolExecutor(max_workers=20) as pool:
        edits = list(pool.map(add, models))
    config = parse_config(path.read_text(encoding="utf-8"), str(path), env={})
    assert sorted(i.model for i in config.services[CHAT].instances) == sorted(["base", *models])
    assert path.read_text(encoding="utf-8").startswith(START)
    versions = list_versions(path)
    assert [v.number for v in versions] == list(range(1, 21))
    assert sorted(e.version.number for e in edits if e.version) == list(range(1, 21))
    for version in versions:
        text = read_version(path, version.number)
        assert load_yaml(text, "v") is not None
        assert parse_config(text, "v", env={}).services[CHAT].instances[0].model == "base"
    assert sorted(os.listdir(path.parent)) == [
        ".jairouter.yaml.lock",
        ".jairouter.yaml.versions",
        "jairouter.yaml",
    ]
    assert len(os.listdir(versions_dir(path))) == 21  # 20 versions and the index: no temp files
