"""Editing a config file: add, change or remove one instance, and save only a file that validates.

Edits are spliced into the text at the parser's marks (see `splice`), so comments, key order,
quoting and indentation outside the edited lines stay byte for byte, and `${VAR}` references stay
unexpanded. Each splice is re-parsed and compared with the intended data: a layout the splicer
misjudges is refused, never written half-right.

Saving (`edit_config`, `save_config`) holds the file's edit lock from read to write (`lock`) and
keeps the text it replaces as a version (`versions`), so concurrent edits are never lost and any
edit can be undone.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from jairouter.config.loader import Capabilities, check_config, read_config_text
from jairouter.config.lock import locked
from jairouter.config.lock import write_atomic as write_atomic  # its home before lock.py
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
    line_end,
    line_start,
    render_item,
)
from jairouter.config.syntax import compose_yaml, dump_yaml, load_yaml
from jairouter.config.versions import KEEP, Version, keep_version
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
    key, items, item = _locate(text, file, service, model, url)
    where = f"services.{service.value}.instances"
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


def update_instance(
    text: str,
    file: str,
    service: ServiceType,
    model: str,
    url: str,
    fields: Mapping[str, str | int | bool],
    headers: Mapping[str, str] | None = None,
) -> str:
    """`text` with keys of `service`'s instance of `model` at `url` set to `fields`, and
    `headers` set in its `headers:`; raises `ConfigError` if it is absent.

    A key already written gets its value replaced in place (comments after it stay); a missing
    one is added below the instance's last line.
    """
    _, items, item = _locate(text, file, service, model, url)
    index = items.value.index(item)
    expected = _plain(load_yaml(text, file))
    target = expected["services"][service.value]["instances"][index]
    target.update(fields)
    edits: list[tuple[tuple[str, ...], str | int | bool]] = [((k,), v) for k, v in fields.items()]
    if headers:
        target["headers"] = {**(target.get("headers") or {}), **headers}
        edits += [(("headers", name), value) for name, value in headers.items()]
    where = f"services.{service.value}.instances[{index}]"
    for keys, value in edits:  # one at a time, found afresh: each edit moves the text after it
        item = _locate(text, file, service, model, url)[2]
        text = _set_key(text, file, item, where, keys, value)
    return _verified(text, file, expected)


def set_enabled(
    text: str, file: str, service: ServiceType, model: str, url: str, enabled: bool
) -> str:
    """`text` with the instance's `enabled` key set; enabling one that has no such key (so is
    enabled already) leaves `text` as it is. Raises `ConfigError` if the instance is absent."""
    _, _, item = _locate(text, file, service, model, url)
    if enabled and isinstance(item, MappingNode) and entry(item, "enabled") is None:
        return text
    return update_instance(text, file, service, model, url, {"enabled": enabled})


def set_service_keys(text: str, file: str, service: ServiceType, values: Mapping[str, Any]) -> str:
    """`text` with keys of `service`'s settings (`load_balance`, `rate_limit`, `retry`, ...) set
    to `values`, each a scalar, mapping or list; raises `ConfigError` if the service is absent.

    A key already written has its whole block replaced where it stands (the comment on its
    last line goes with it); a missing one is added below the service's last line. Every other
    byte stays as it is.
    """
    where = f"services.{service.value}"
    expected = _plain(load_yaml(text, file))
    settings = (expected or {}).get("services") or {}
    if not isinstance(settings, Mapping) or not isinstance(settings.get(service.value), Mapping):
        message = f"no service {service.value} in the config"
        hint = "add an instance to it first with `jairouter backends add`"
        raise ConfigError([ConfigProblem(file, None, None, where, message, hint)])
    settings[service.value].update(_plain(dict(values)))
    for name, value in values.items():  # one at a time, found afresh: each edit moves the rest
        root = compose_yaml(text, file)
        style = detect_style(root)
        node = _service_node(root, service)
        if node is None:  # an alias or merge key: the data has it, the text does not
            message = "is not written out in this file"
            raise ConfigError([ConfigProblem(file, None, None, where, message, _BY_HAND)])
        if not (is_block(node) and isinstance(node, MappingNode)):
            raise ConfigError([_not_block(file, node, where)])
        found = entry(node, name)
        if found is None:
            lines = _value_lines(name, value, node.start_mark.column, style, file)
            text = insert_lines(text, end_of(text, node), lines)
            continue
        key, old = found
        start = line_start(text, key.start_mark.index)
        if text[start : key.start_mark.index].strip():
            message = "shares its line with other content"
            raise ConfigError([_problem(file, key, f"{where}.{name}", message, _BY_HAND)])
        empty = isinstance(old, ScalarNode) and old.value == "" and str(old.tag).endswith(":null")
        end = line_end(text, key.end_mark.index) if empty else end_of(text, old)
        lines = _value_lines(name, value, key.start_mark.column, style, file)
        text = insert_lines(text[:start] + text[end:], start, lines)
    return _verified(text, file, expected)


def save_config(
    path: Path,
    text: str,
    *,
    adapters: Capabilities | None = None,
    overwrite: bool = True,
    description: str = "edited",
    keep: int = KEEP,
) -> None:
    """Validate `text`, then write it to `path` atomically; raises `ConfigError` and writes
    nothing when it is invalid.

    Replacing a file takes its edit lock and keeps the old text as a version (`description` says
    what changed; see `versions`); text equal to the file's is not written again. An unset
    `${VAR}` does not block saving (the router's secrets may live elsewhere); the router reports
    it when it loads the file.
    """
    _check(path, text, adapters)
    if not overwrite:  # a new file: nothing to keep, and the atomic link refuses to clobber
        write_atomic(path, text, overwrite=False)
        return
    with locked(path):
        _replace(path, _current(path), text, description, keep)


@dataclass(frozen=True)
class Edit:
    """What `edit_config` did."""

    changed: bool
    """False when the change gave back the same text: nothing was written or kept."""
    version: Version | None
    """The replaced text, kept as a version; None when there was no file before."""


def edit_config(
    path: Path,
    change: Callable[[str], str],
    description: str,
    *,
    adapters: Capabilities | None = None,
    missing_ok: bool = False,
    keep: int = KEEP,
) -> Edit:
    """Apply `change` (current text -> new text) to the config file at `path`, safely.

    Holding the file's edit lock from read to write, so concurrent edits (other processes or
    threads) apply one after the other and none is lost: read the text ("" for a missing file
    when `missing_ok`), apply `change`, validate the result, keep the old text as a version
    described by `description` (one line, e.g. `backends add chat m http://x`), then replace the
    file atomically. Raises `ConfigError` (from `change`, a missing file or validation) with
    nothing written, `TimeoutError` when another writer holds the lock too long, `OSError` when
    the directory cannot be written.
    """
    if not (missing_ok or path.exists()):
        read_config_text(path)  # raises "no such file" before a lock file is made beside it
    with locked(path):
        before = _current(path) if missing_ok else read_config_text(path)
        after = change(before or "")
        if after == before:
            return Edit(changed=False, version=None)
        _check(path, after, adapters)
        return Edit(changed=True, version=_replace(path, before, after, description, keep))


def _check(path: Path, text: str, adapters: Capabilities | None) -> None:
    problems = check_config(text, str(path), adapters=adapters, require_env=False)
    if problems:
        raise ConfigError(problems)


def _current(path: Path) -> str | None:
    """The file's text, or None when there is no file."""
    text = read_config_text(path, missing_ok=True)
    return text if text or path.exists() else None


def _replace(
    path: Path, before: str | None, after: str, description: str, keep: int
) -> Version | None:
    """Keep `before` as a version, then write `after`; call it holding the edit lock."""
    if after == before:
        return None
    version = None if before is None else keep_version(path, before, description, keep=keep)
    write_atomic(path, after)
    return version


def _locate(
    text: str, file: str, service: ServiceType, model: str, url: str
) -> tuple[ScalarNode, SequenceNode, Node]:
    """The `instances:` key, its list and the item for `model` at `url`; `ConfigError` if absent."""
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
    return key, items, item


def _set_key(
    text: str, file: str, item: Node, where: str, keys: tuple[str, ...], value: str | int | bool
) -> str:
    """`text` with `keys` (a path of mapping keys below the instance `item`, which sits at
    `where`) set to `value`, adding any missing level as an indented block."""
    style = detect_style(compose_yaml(text, file))
    node, key = item, None
    for depth, name in enumerate(keys):
        if not (is_block(node) and isinstance(node, MappingNode)):
            raise ConfigError([_not_block(file, node, ".".join((where, *keys[:depth])))])
        found = entry(node, name)
        if found is None:
            lines = _key_lines(keys[depth:], node.start_mark.column, value, style)
            return insert_lines(text, end_of(text, node), lines)
        key, node = found
        rest = keys[depth + 1 :]
        if rest and is_placeholder(node):
            text, at = clear_placeholder(text, key, node)
            column = key.start_mark.column + style.indent
            return insert_lines(text, at, _key_lines(rest, column, value, style))
    if key is None or not isinstance(node, ScalarNode):
        message = "holds a list or mapping, not a single value"
        raise ConfigError([_problem(file, node, ".".join((where, *keys)), message, _BY_HAND)])
    if node.value == "" and str(node.tag).endswith(":null"):  # `key:` with nothing after it
        colon = text.index(":", key.end_mark.index) + 1
        return f"{text[:colon]} {_inline(value, file)}{text[colon:]}"
    start, end = node.start_mark.index, node.end_mark.index
    newline = "\n" if node.end_mark.column == 0 else ""  # a block scalar (`|`) owns its newline
    return f"{text[:start]}{_inline(value, file)}{newline}{text[end:]}"


def _key_lines(
    keys: tuple[str, ...], column: int, value: str | int | bool, style: Style
) -> list[str]:
    """`keys` as nested block mappings from `column`, the last holding `value`."""
    *parents, last = keys
    lines = [f"{' ' * (column + i * style.indent)}{name}:" for i, name in enumerate(parents)]
    pad = " " * (column + len(parents) * style.indent)
    return [*lines, f"{pad}{_inline(last, '')}: {_inline(value, '')}"]


def _value_lines(name: str, value: Any, column: int, style: Style, file: str) -> list[str]:
    """`name: value` as block YAML lines from `column`: nested mappings indented by the file's
    indent, lists by its dash and gap; empty ones written `{}` / `[]`."""
    pad = " " * column
    if isinstance(value, Mapping) and value:
        lines = [f"{pad}{_inline(name, file)}:"]
        for key, item in value.items():
            lines += _value_lines(str(key), item, column + style.indent, style, file)
        return lines
    if isinstance(value, list) and value:
        lines = [f"{pad}{_inline(name, file)}:"]
        dash = column + style.dash
        for item in value:
            lines += _list_item(item, dash, style, file)
        return lines
    if isinstance(value, Mapping | list):
        return [f"{pad}{_inline(name, file)}: {'{}' if isinstance(value, Mapping) else '[]'}"]
    return [f"{pad}{_inline(name, file)}: {_scalar_text(value, file)}"]


def _list_item(item: Any, dash: int, style: Style, file: str) -> list[str]:
    """One list item with its `-` at column `dash`."""
    if isinstance(item, Mapping) and item:
        inner = dash + style.gap
        lines: list[str] = []
        for key, value in item.items():
            lines += _value_lines(str(key), value, inner, style, file)
        first = lines[0][inner:]
        return [f"{' ' * dash}-{' ' * (style.gap - 1)}{first}", *lines[1:]]
    if isinstance(item, Mapping | list) and not item:
        return [f"{' ' * dash}- {'{}' if isinstance(item, Mapping) else '[]'}"]
    return [f"{' ' * dash}- {_scalar_text(item, file)}"]


def _scalar_text(value: Any, file: str) -> str:
    """A scalar on one line; `null` for None (a list nested in a list is refused)."""
    return "null" if value is None else _inline(value, file)


def _service_node(root: Node | None, service: ServiceType) -> Node | None:
    services = entry(root, "services") if isinstance(root, MappingNode) else None
    if services is None or not isinstance(services[1], MappingNode):
        return None
    found = entry(services[1], service.value)
    return found[1] if found else None


def _inline(value: str | int | bool, file: str) -> str:
    """`value` as a YAML scalar on one line, quoted where YAML needs it."""
    rendered = dump_yaml([value]).rstrip("\n").removeprefix("- ")
    if "\n" in rendered:
        message = f"cannot write {value!r} on one line"
        raise ConfigError([ConfigProblem(file, None, None, "", message, "leave out line breaks")])
    return rendered


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
