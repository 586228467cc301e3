"""Editing a config file: add or remove one instance, and save only a file that validates.

Edits are spliced into the text at the parser's marks (see `splice`), so comments, key order,
quoting and indentation outside the edited lines stay byte for byte, and `${VAR}` references stay
unexpanded. Each splice is re-parsed and compared with the intended data: a layout the splicer
misjudges is refused, never written half-right.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from jairouter.config.loader import Capabilities, check_config
from jairouter.config.splice import (
    Style,
    clear_placeholder,
    detect_style,
    end_of,
    entry,
    insert_lines,
    is_block,
    is_placeholder,
    item_start,
    render_item,
)
from jairouter.config.syntax import compose_yaml, load_yaml
from jairouter.errors import ConfigError, ConfigProblem
from jairouter.types import ServiceType

_BY_HAND = "rewrite it as indented lines (one `key: value` or `- item` per line), or edit by hand"


def add_instance(
    text: str, file: str, service: ServiceType, fields: Mapping[str, str | int]
) -> str:
    """`text` with an instance (`fields`; `model` and `url` required) appended to `service`.

    Creates the `services:` section, the service or its `instances:` list when missing. Raises
    `ConfigError` when the instance is already listed or the file's layout cannot take it.
    """
    item = dict(fields)
    levels = ("services", service.value, "instances")
    root = compose_yaml(text, file)
    style = detect_style(root)
    expected = _with_instance(_plain(load_yaml(text, file)), service.value, item)
    if root is None:  # an empty file, or only comments
        lines = _block(levels, 0, item, style)
        return _verified(insert_lines(text, len(text), lines), file, expected)
    node: Node = root
    for depth, name in enumerate(levels):
        if not (is_block(node) and isinstance(node, MappingNode)):
            raise ConfigError([_not_block(file, node, ".".join(levels[:depth]) or "top level")])
        found = entry(node, name)
        if found is None:
            lines = _block(levels[depth:], node.start_mark.column, item, style)
            return _verified(insert_lines(text, end_of(text, node), lines), file, expected)
        key, node = found
        if is_placeholder(node):
            text, at = clear_placeholder(text, key, node)
            rest = levels[depth + 1 :]
            column = key.start_mark.column + (style.indent if rest else style.dash)
            return _verified(
                insert_lines(text, at, _block(rest, column, item, style)), file, expected
            )
    if not (is_block(node) and isinstance(node, SequenceNode)):
        raise ConfigError([_not_block(file, node, ".".join(levels))])
    duplicate = _find(node, str(item["model"]), str(item["url"]))
    if duplicate is not None:
        where = f"{'.'.join(levels)}[{node.value.index(duplicate)}]"
        message = f"{item['model']} at {item['url']} is already listed"
        hint = "remove it first with `jairouter backends remove`, or use another URL"
        raise ConfigError([_problem(file, duplicate, where, message, hint)])
    gap = max(node.value[0].start_mark.column - node.start_mark.column, 2)
    lines = render_item(item, node.start_mark.column, gap)
    return _verified(insert_lines(text, end_of(text, node), lines), file, expected)


def remove_instance(text: str, file: str, service: ServiceType, model: str, url: str) -> str:
    """`text` without `service`'s instance of `model` at `url`; raises `ConfigError` if absent."""
    where = f"services.{service.value}.instances"
    found = _instances(compose_yaml(text, file), service)
    if found is None:
        message = f"no instances listed for {service.value}"
        raise ConfigError([ConfigProblem(file, None, None, where, message)])
    key, items = found
    if not (is_block(items) and isinstance(items, SequenceNode)):
        raise ConfigError([_not_block(file, items, where)])
    item = _find(items, model, url)
    if item is None:
        listed = [f"{_scalar(i, 'model')} {_scalar(i, 'url')}" for i in items.value]
        close = difflib.get_close_matches(f"{model} {url}", listed, n=1)
        hint = f"did you mean `{close[0]}`?" if close else "see `jairouter backends list`"
        raise ConfigError([_problem(file, items, where, f"no instance {model} at {url}", hint)])
    expected = _plain(load_yaml(text, file))
    del expected["services"][service.value]["instances"][items.value.index(item)]
    try:
        start = item_start(text, item)
    except ValueError as exc:
        raise ConfigError([_problem(file, item, where, str(exc), _BY_HAND)]) from None
    text = text[:start] + text[end_of(text, item) :]
    if len(items.value) == 1:  # a bare `instances:` would read as null, so say `[]`
        colon = text.index(":", key.end_mark.index) + 1
        text = f"{text[:colon]} []{text[colon:]}"
    return _verified(text, file, expected)


def save_config(
    path: Path, text: str, *, adapters: Capabilities | None = None, overwrite: bool = True
) -> None:
    """Validate `text`, then write it to `path` atomically; raises `ConfigError` and writes
    nothing when it is invalid.

    An unset `${VAR}` does not block saving (the router's secrets may live elsewhere); the
    router reports it when it loads the file.
    """
    problems = check_config(text, str(path), adapters=adapters, require_env=False)
    if problems:
        raise ConfigError(problems)
    write_atomic(path, text, overwrite=overwrite)


def write_atomic(path: Path, text: str, *, overwrite: bool = True) -> None:
    """Write `path` so readers see the old file or the new one, never a torn one.

    The text goes to a temporary file in the same directory, is fsynced, then renamed over
    `path` (keeping its permissions). Without `overwrite` an existing `path` raises
    `FileExistsError` (checked by the atomic link, so no race). New files are readable by their
    owner only: they may hold keys.
    """
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if overwrite:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(temp, path.stat().st_mode)
            os.replace(temp, path)
        else:
            os.link(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; POSIX only (Windows cannot open a directory this way).
    if hasattr(os, "O_DIRECTORY"):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _block(names: tuple[str, ...], column: int, item: dict[str, Any], style: Style) -> list[str]:
    """Lines opening `names` as nested keys from `column`, ending with a list holding `item`."""
    lines: list[str] = []
    for depth, name in enumerate(names):
        lines.append(f"{' ' * column}{name}:")
        column += style.dash if depth == len(names) - 1 else style.indent
    return [*lines, *render_item(item, column, style.gap)]


def _instances(root: Node | None, service: ServiceType) -> tuple[ScalarNode, Node] | None:
    node: tuple[ScalarNode, Node] | None = None
    parent = root
    for name in ("services", service.value, "instances"):
        node = entry(parent, name) if isinstance(parent, MappingNode) else None
        if node is None:
            return None
        parent = node[1]
    return node


def _find(items: SequenceNode, model: str, url: str) -> Node | None:
    """The item for `model` at `url` as written (a trailing `/` on the URL does not matter)."""
    item: Node
    for item in items.value:
        if _scalar(item, "model") == model and _scalar(item, "url").rstrip("/") == url.rstrip("/"):
            return item
    return None


def _scalar(item: Node, key: str) -> str:
    found = entry(item, key) if isinstance(item, MappingNode) else None
    return str(found[1].value) if found and isinstance(found[1], ScalarNode) else ""


def _with_instance(data: Any, service: str, item: dict[str, Any]) -> Any:
    data = data or {}
    services = data["services"] = data.get("services") or {}
    settings = services[service] = services.get(service) or {}
    settings["instances"] = [*(settings.get("instances") or []), item]
    return data


def _plain(data: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists, for comparing."""
    if isinstance(data, Mapping):
        return {key: _plain(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_plain(item) for item in data]
    return data


def _verified(text: str, file: str, expected: Any) -> str:
    if _plain(load_yaml(text, file)) != expected:
        message = "cannot edit this file's layout automatically; nothing was changed"
        raise ConfigError([ConfigProblem(file, None, None, "", message, _BY_HAND)])
    return text


def _not_block(file: str, node: Node, where: str) -> ConfigProblem:
    message = "is not an indented block (flow style `{...}`/`[...]` or a plain value)"
    return _problem(file, node, where, message, _BY_HAND)


def _problem(file: str, node: Node, key: str, message: str, hint: str | None) -> ConfigProblem:
    mark = node.start_mark
    return ConfigProblem(file, mark.line + 1, mark.column + 1, key, message, hint)
