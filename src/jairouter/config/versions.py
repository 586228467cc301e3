"""Earlier versions of a config file, kept by every write so any change can be undone.

Before a write replaces `jairouter.yaml`, the text it replaces is kept in
`.jairouter.yaml.versions/` beside it as `000042.yaml`, and a line is added to `index.jsonl`
there: its number, when it was replaced (UTC), a one-line description of the change that
replaced it (e.g. `backends add chat m http://x`) and its size. Numbers only grow; the oldest
files beyond `keep` are deleted. Version files are private (they may hold keys).

Callers hold the config's edit lock (`jairouter.config.lock.locked`) while keeping a version;
readers take none: every file here is written atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from jairouter.config.lock import fsync_directory, write_atomic
from jairouter.errors import ConfigError, ConfigProblem

KEEP = 50
"""Versions kept per config file unless told otherwise."""

_INDEX = "index.jsonl"


@dataclass(frozen=True)
class Version:
    """One kept version: the file as it was before the change `description` names."""

    number: int
    time: str  # when it was replaced, ISO 8601 in UTC, e.g. 2026-11-26T12:44:32+00:00
    description: str
    size: int  # bytes

    def as_json(self) -> dict[str, int | str]:
        return asdict(self)


def versions_dir(path: Path) -> Path:
    """Where the versions of the config file `path` are kept."""
    return path.with_name(f".{path.name}.versions")


def list_versions(path: Path) -> list[Version]:
    """The kept versions of `path`, oldest first (none when nothing was kept yet)."""
    try:
        lines = (versions_dir(path) / _INDEX).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [version for line in lines if (version := _parse(line)) is not None]


def read_version(path: Path, number: int) -> str:
    """The text of version `number` of `path`; raises `ConfigError` when it is not kept."""
    known = [version.number for version in list_versions(path)]
    if number in known:
        with contextlib.suppress(FileNotFoundError):  # pruned since the index was read
            return version_file(path, number).read_text(encoding="utf-8")
    if known:
        hint = f"kept: {known[0]} to {known[-1]}; see `jairouter config history`"
    else:
        hint = "a version is kept each time jairouter changes the file"
    message = f"no version {number} of this file is kept"
    raise ConfigError([ConfigProblem(str(path), None, None, "", message, hint)])


def keep_version(
    path: Path,
    text: str,
    description: str,
    *,
    keep: int = KEEP,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Version:
    """Keep `text` (the file about to be replaced) as the next version of `path`, then delete
    the oldest beyond `keep`. Call it holding the config's edit lock."""
    if keep < 1:
        raise ValueError("keep at least one version")
    directory = versions_dir(path)
    directory.mkdir(mode=0o700, exist_ok=True)
    kept = list_versions(path)
    number = max([0, *(v.number for v in kept), *_numbers_on_disk(directory)]) + 1
    one_line = " ".join(description.split())
    version = Version(number, now().isoformat(timespec="seconds"), one_line, len(text.encode()))
    write_atomic(version_file(path, number), text, overwrite=False)
    kept.append(version)
    index = "".join(json.dumps(v.as_json()) + "\n" for v in kept[-keep:])
    write_atomic(directory / _INDEX, index)
    # Deleted once the index no longer names them, so a reader never finds a listed one missing;
    # a file a crash left out of the index goes too.
    listed = {v.number for v in kept[-keep:]}
    stale = [n for n in _numbers_on_disk(directory) if n not in listed]
    for old in stale:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(version_file(path, old))
    if stale:
        fsync_directory(directory)
    return version


def version_file(path: Path, number: int) -> Path:
    """The file holding version `number` of `path` (kept or not)."""
    return versions_dir(path) / f"{number:06d}.yaml"


def _numbers_on_disk(directory: Path) -> list[int]:
    # A version file whose index line was never written (a crash in between) keeps its number.
    return [int(file.stem) for file in directory.glob("*.yaml") if file.stem.isdigit()]


def _parse(line: str) -> Version | None:
    try:
        fields = json.loads(line)
        return Version(
            int(fields["number"]),
            str(fields["time"]),
            str(fields["description"]),
            int(fields["size"]),
        )
    except (ValueError, KeyError, TypeError):
        return None  # a line this version of jairouter cannot read is skipped, not fatal
