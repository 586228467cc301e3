"""Parsing config YAML with ruamel's round-trip parser; syntax errors become `ConfigProblem`s.

Round-trip mode keeps each node's line and column, which the loader needs to point at problems
and the store needs to splice edits into the text.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import Node

from jairouter.errors import ConfigError, ConfigProblem


def load_yaml(text: str, file: str) -> Any:
    """The document as ruamel's commented maps and sequences (None for an empty document)."""
    try:
        return YAML(typ="rt").load(text)
    except YAMLError as exc:
        raise ConfigError([syntax_problem(exc, file)]) from None


def compose_yaml(text: str, file: str) -> Node | None:
    """The document's node graph, whose marks give each node's exact span in `text`."""
    try:
        node: Node | None = YAML(typ="rt").compose(text)
    except YAMLError as exc:
        raise ConfigError([syntax_problem(exc, file)]) from None
    return node


def dump_yaml(data: Any) -> str:
    """`data` as block-style YAML, scalars quoted only where YAML needs it."""
    yaml = YAML(typ="rt")
    yaml.width = 4096  # never fold a long value (a URL, a key) over two lines
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def syntax_problem(exc: YAMLError, file: str) -> ConfigProblem:
    """A YAML syntax error as a problem at its file:line:column."""
    if not isinstance(exc, MarkedYAMLError) or exc.problem_mark is None:
        return ConfigProblem(file, None, None, "", f"not valid YAML: {exc}")
    mark = exc.problem_mark
    hint = None
    if exc.context:
        hint = exc.context
        if exc.context_mark is not None:
            context = exc.context_mark
            hint += f" that starts at line {context.line + 1}, column {context.column + 1}"
    return ConfigProblem(
        file, mark.line + 1, mark.column + 1, "", f"not valid YAML: {exc.problem}", hint
    )
