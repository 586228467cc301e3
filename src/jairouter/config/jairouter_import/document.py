"""Finding JAiRouter's settings in a Spring `application.yml`: the document with a `model:` key.

A Spring file may hold several YAML documents (`---`, one per profile); the first one with a
`model:` section is imported and the others are reported, as their profiles are not known here.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from jairouter.config.jairouter_import.report import Report
from jairouter.config.jairouter_import.source import kebab
from jairouter.config.syntax import syntax_problem
from jairouter.errors import ConfigError, ConfigProblem

_WHERE = "JAiRouter keeps it in application.yml or config/base/model-services-base.yml"


def model_document(text: str, file: str, report: Report) -> CommentedMap:
    """The document holding `model:`; raises `ConfigError` when the text is not YAML or has
    no such document."""
    try:
        documents: list[Any] = list(YAML(typ="rt").load_all(text))
    except YAMLError as exc:
        raise ConfigError([syntax_problem(exc, file)]) from None
    chosen: CommentedMap | None = None
    for number, document in enumerate(documents, start=1):
        if chosen is None and _has_model(document):
            chosen = document
        elif document is not None:
            line = document.lc.line + 1 if isinstance(document, CommentedMap) else None
            reason = "another YAML document (a Spring profile?) is not imported"
            report.leave_out(f"(document {number})", (line, None), reason)
    if chosen is None:
        problem = ConfigProblem(file, None, None, "model", "no `model:` section found", _WHERE)
        raise ConfigError([problem])
    return chosen


def _has_model(document: Any) -> bool:
    return isinstance(document, CommentedMap) and any(kebab(str(k)) == "model" for k in document)
