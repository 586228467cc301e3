"""A parsed config document as plain Python data that remembers where each part was written.

Pydantic names a problem by its path (`services.chat.instances[0].url`); the positions kept here
turn that path back into the line and column of the YAML behind it. `${VAR}` references are
expanded on the way, so validation sees the values the router will use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from jairouter.config.interpolate import UnresolvedReference, expand
from jairouter.errors import ConfigProblem

Path = tuple[str | int, ...]
Position = tuple[int, int]  # 1-based line and column


@dataclass
class Document:
    """Plain data (dicts, lists, scalars) plus where each key and value sits in the file."""

    file: str
    data: Any = None
    keys: dict[Path, Position] = field(default_factory=dict)
    values: dict[Path, Position] = field(default_factory=lambda: {(): (1, 1)})
    unresolved: set[Path] = field(default_factory=set)
    """Values whose `${VAR}` could not be expanded; they are kept as written."""
    problems: list[ConfigProblem] = field(default_factory=list)
    """Interpolation problems, in file order."""


def dotted(path: Path) -> str:
    """`("services", "chat", "instances", 0, "url")` -> `services.chat.instances[0].url`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def flatten(tree: Any, file: str, env: Mapping[str, str]) -> Document:
    """`tree` (from `load_yaml`) as plain data, references expanded from `env`."""
    doc = Document(file)
    if isinstance(tree, CommentedMap | CommentedSeq):
        doc.values[()] = (tree.lc.line + 1, tree.lc.col + 1)
    doc.data = _walk(tree, (), doc, env)
    return doc


def _walk(node: Any, path: Path, doc: Document, env: Mapping[str, str]) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            plain_key = str(key) if isinstance(key, str) else key
            child = (*path, plain_key)
            _remember(doc.keys, child, node.lc.key, key)
            _remember(doc.values, child, node.lc.value, key)
            out[plain_key] = _walk(value, child, doc, env)
        return out
    if isinstance(node, CommentedSeq):
        items: list[Any] = []
        for index, item in enumerate(node):
            _remember(doc.values, (*path, index), node.lc.item, index)
            items.append(_walk(item, (*path, index), doc, env))
        return items
    if isinstance(node, str):
        return _expand(str(node), path, doc, env)
    # ruamel's int and float subclasses carry formatting; validation wants the plain numbers.
    if isinstance(node, bool):
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def _remember(where: dict[Path, Position], path: Path, lookup: Any, key: Any) -> None:
    try:
        line, column = lookup(key)
    except (KeyError, TypeError):  # keys pulled in by a `<<:` merge have no position of their own
        return
    where[path] = (line + 1, column + 1)


def _expand(text: str, path: Path, doc: Document, env: Mapping[str, str]) -> str:
    try:
        return expand(text, env)
    except UnresolvedReference as exc:
        line, column = doc.values.get(path, (None, None))
        doc.problems.append(ConfigProblem(doc.file, line, column, dotted(path), str(exc), exc.hint))
        doc.unresolved.add(path)
        return text
