"""Reading a config file for use: YAML -> `${VAR}` expansion -> schema validation.

Every problem found is reported at once, each with file:line:column, the key and a hint, as one
`ConfigError`. The adapter table is passed in (`adapters`) because config sits below adapters in
the layering; without it adapter names go unchecked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from jairouter.config.explain import explain
from jairouter.config.models import Config
from jairouter.config.syntax import load_yaml
from jairouter.config.tree import flatten
from jairouter.errors import ConfigError, ConfigProblem
from jairouter.types import ServiceType

Capabilities = Mapping[str, frozenset[ServiceType]]
"""Adapter name -> the service types it can serve (`jairouter.adapters.registry.capabilities()`)."""


def load_config(
    path: Path, *, adapters: Capabilities | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """The validated config in `path`; raises `ConfigError` listing every problem."""
    return parse_config(read_config_text(path), str(path), adapters=adapters, env=env)


def parse_config(
    text: str,
    file: str,
    *,
    adapters: Capabilities | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """The validated config in `text` (named `file` in problems); raises `ConfigError`."""
    config, problems = _validate(text, file, adapters, env, require_env=True)
    if problems or config is None:
        raise ConfigError(problems)
    return config


def check_config(
    text: str,
    file: str,
    *,
    adapters: Capabilities | None = None,
    env: Mapping[str, str] | None = None,
    require_env: bool = True,
) -> list[ConfigProblem]:
    """Every problem in `text`, in file order; empty when it is valid.

    With `require_env=False` an unset `${VAR}` is no problem and the value using it goes
    unchecked: the store validates edits this way, so a machine without the router's secrets can
    still edit its config.
    """
    return _validate(text, file, adapters, env, require_env)[1]


def read_config_text(path: Path, *, missing_ok: bool = False) -> str:
    """The file's text ("" for a missing file when `missing_ok`); raises `ConfigError`."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing_ok:
            return ""
        hint = "create one with `jairouter init`, or point --config / $JAIROUTER_CONFIG at yours"
        raise ConfigError(
            [ConfigProblem(str(path), None, None, "", "no such file", hint)]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            [ConfigProblem(str(path), None, None, "", f"cannot read: {exc}")]
        ) from None


def _validate(
    text: str,
    file: str,
    adapters: Capabilities | None,
    env: Mapping[str, str] | None,
    require_env: bool,
) -> tuple[Config | None, list[ConfigProblem]]:
    try:
        doc = flatten(load_yaml(text, file), file, os.environ if env is None else env)
    except ConfigError as exc:
        return None, exc.problems
    problems = doc.problems if require_env else []
    data = {} if doc.data is None else doc.data  # an empty file is an all-defaults config
    try:
        config = Config.model_validate(data, context={"adapters": adapters})
    except ValidationError as exc:
        explained = (explain(error, doc, adapters) for error in exc.errors())
        problems = [*problems, *(p for p in explained if p is not None)]
        return None, sorted(problems, key=_file_order)
    return config, problems


def _file_order(problem: ConfigProblem) -> tuple[int, int]:
    return (problem.line or 0, problem.column or 0)
