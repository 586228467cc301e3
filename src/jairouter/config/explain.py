"""Pydantic's validation errors told as config problems: where, which key, what, and how to fix.

Each error's `loc` is walked back to the YAML node behind it (the key itself for unknown or
misspelt keys, the value otherwise, the enclosing mapping for a missing key), and the hint is
picked from the error's kind: a close match for a misspelling, the expected type for a wrong one,
the field's description otherwise.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from jairouter.config.models import Config
from jairouter.config.tree import Document, Path, dotted
from jairouter.errors import ConfigProblem

_KEY = "[key]"  # pydantic's marker for an error about a mapping's key rather than its value

_MESSAGES = {"extra_forbidden": "unknown key", "missing": "required key is missing"}

_EXPECTED = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text (put the value in quotes)",
    "dict_type": "a mapping of `key: value` lines",
    "model_type": "a mapping of `key: value` lines",
    "model_attributes_type": "a mapping of `key: value` lines",
    "list_type": "a list of `- item` lines",
    "byte_size": "a size such as 32MiB or 1048576",
    "byte_size_unit": "a size such as 32MiB or 1048576",
    "ip_any_network": "an address or CIDR such as 10.0.0.0/8",
}


def explain(
    error: ErrorDetails, doc: Document, adapters: Mapping[str, object] | None
) -> ConfigProblem | None:
    """The problem `error` describes, or None when it only echoes an unexpanded `${VAR}`."""
    loc: Path = tuple(error["loc"])
    on_key = error["type"] == "extra_forbidden" or loc[-1:] == (_KEY,)
    path = loc[:-1] if loc[-1:] == (_KEY,) else loc
    if any(path[: len(p)] == p for p in doc.unresolved):
        return None  # already reported as the unset variable it is
    line, column = _position(path, doc, on_key)
    message = _MESSAGES.get(error["type"], error["msg"].removeprefix("Value error, "))
    return ConfigProblem(
        doc.file, line, column, dotted(path), message, _hint(error, path, adapters)
    )


def _position(path: Path, doc: Document, on_key: bool) -> tuple[int | None, int | None]:
    if on_key and path in doc.keys:
        return doc.keys[path]
    # A missing key has no node: point at the nearest enclosing one that exists.
    for end in range(len(path), -1, -1):
        if path[:end] in doc.values:
            return doc.values[path[:end]]
    return None, None


def _hint(error: ErrorDetails, path: Path, adapters: Mapping[str, object] | None) -> str | None:
    kind = error["type"]
    name = path[-1] if path else ""
    if kind == "extra_forbidden":
        model = _model_at(path[:-1])
        if model is None:
            return None
        allowed = model.model_fields
        return _suggest(str(name), allowed) or f"allowed keys: {', '.join(allowed)}"
    if kind in ("enum", "literal_error"):
        choices = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        return _suggest(str(error["input"]), choices)
    given = error["input"]
    if name == "adapter" and isinstance(given, str) and adapters and given not in adapters:
        return _suggest(given, adapters)
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}"
    described = _field_at(path)
    if kind == "missing":
        about = f" - {described.description}" if described and described.description else ""
        return f"add `{name}:`{about}"
    return described.description if described else None


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean `{close[0]}`?" if close else None


def _field_at(path: Path) -> FieldInfo | None:
    model = _model_at(path[:-1]) if path else None
    return model.model_fields.get(str(path[-1])) if model else None


def _model_at(path: Path) -> type[BaseModel] | None:
    """The config model that validates the mapping at `path`, if one does."""
    annotation: Any = Config
    for part in path:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            described = annotation.model_fields.get(str(part))
            if described is None:
                return None
            annotation = described.annotation
        elif get_origin(annotation) in (dict, list):
            annotation = get_args(annotation)[-1]  # a dict's value type, a list's item type
        else:
            return None
    annotation = _unwrap(annotation)
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _unwrap(annotation: Any) -> Any:
    """`X | None` and `Annotated[X, ...]` -> `X`."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return _unwrap(members[0]) if len(members) == 1 else annotation
    return annotation
