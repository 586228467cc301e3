"""The schema documents itself, and configs/reference.yaml shows and explains every option."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from jairouter.config.models import Config

REFERENCE = Path(__file__).resolve().parents[2] / "configs" / "reference.yaml"


def models_under(model: type[BaseModel]) -> set[type[BaseModel]]:
    """`model` and every model its fields can hold, however nested in unions, lists or dicts."""
    found = {model}
    pending: list[object] = [f.annotation for f in model.model_fields.values()]
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found |= models_under(annotation)
        else:
            pending.extend(typing.get_args(annotation))
    return found


def nested(annotation: object, value: Any) -> Iterator[tuple[type[BaseModel], Any]]:
    """The (model, data) pairs inside `value`, read as `annotation`."""
    if value is None:
        return
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if isinstance(value, dict):
            yield annotation, value
    elif typing.get_origin(annotation) is dict:
        if isinstance(value, dict):
            for item in value.values():
                yield from nested(typing.get_args(annotation)[1], item)
    elif typing.get_origin(annotation) is list:
        for item in value if isinstance(value, list) else [value]:  # one block may stand alone
            yield from nested(typing.get_args(annotation)[0], item)
    else:  # a union or Annotated: whichever member is a model
        for member in typing.get_args(annotation):
            yield from nested(member, value)


def fields_set(model: type[BaseModel], data: dict[str, Any]) -> set[str]:
    used = set()
    for key, value in data.items():
        used.add(f"{model.__name__}.{key}")
        for sub, sub_data in nested(model.model_fields[key].annotation, value):
            used |= fields_set(sub, sub_data)
    return used


def every_field() -> set[str]:
    return {f"{m.__name__}.{name}" for m in models_under(Config) for name in m.model_fields}


def test_every_field_of_every_model_is_described() -> None:
    assert {"ServerConfig", "Defaults", "ServiceConfig", "InstanceConfig", "Timeouts"} <= {
        m.__name__ for m in models_under(Config)
    }
    undescribed = [
        f"{model.__name__}.{name}"
        for model in models_under(Config)
        for name, field in model.model_fields.items()
        if not (field.description or "").strip()
    ]
    assert undescribed == []


def test_models_reject_unknown_keys() -> None:
    assert all(m.model_config.get("extra") == "forbid" for m in models_under(Config))


def test_reference_sets_every_option() -> None:
    data = YAML(typ="safe").load(REFERENCE.read_text(encoding="utf-8"))
    missing = every_field() - fields_set(Config, data)
    assert missing == set(), f"add these options to {REFERENCE.name}, with a comment each"


def commented_keys(node: Any, lines: list[str]) -> Iterator[tuple[str, bool]]:
    """Each key in the document, and whether a comment sits on its line or the line above."""
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            line = node.lc.key(key)[0]
            above = lines[line - 1].strip() if line else ""
            yield str(key), "#" in lines[line] or above.startswith("#")
            yield from commented_keys(value, lines)
    elif isinstance(node, CommentedSeq):
        for item in node:
            yield from commented_keys(item, lines)


def test_reference_explains_every_key_with_a_comment() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    keys = list(commented_keys(YAML().load(text), text.splitlines()))
    assert len(keys) > 20
    assert [key for key, commented in keys if not commented] == []
