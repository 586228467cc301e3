"""`jairouter config import-jairouter`: a JAiRouter (Java) `application.yml` as a jairouter config.

    document.py      the YAML document holding `model:` (Spring files may hold several)
    source.py        reading keys as Spring binds them; every key not read is reported
    placeholders.py  `${VAR:default}` -> `${VAR:-default}`
    services.py      `model:` -> `defaults:` and `services:`
    instances.py     one instance; urls.py: base-url + path -> url
    limits.py, breaker.py, fallback.py   the resilience blocks
    render.py        the commented YAML text

Nothing here validates the result against jairouter's schema: callers do (the CLI with
`check_config`), so a conversion bug shows as a config problem, never as a silent change.
"""

from __future__ import annotations

from dataclasses import dataclass

from ruamel.yaml.comments import CommentedMap

from jairouter.config.jairouter_import.document import model_document
from jairouter.config.jairouter_import.instances import Capabilities
from jairouter.config.jairouter_import.render import render
from jairouter.config.jairouter_import.report import Report, Unmapped
from jairouter.config.jairouter_import.services import convert_model
from jairouter.config.jairouter_import.source import Section

__all__ = ["ImportResult", "Unmapped", "import_jairouter"]

_OUTSIDE = "outside JAiRouter's `model:` section; not imported"
_SERVER = "a Spring Boot server setting with no equivalent; not imported"
_SPRING_HOST = "Spring Boot listened on all interfaces; jairouter on 127.0.0.1 unless `host:`"


@dataclass(frozen=True)
class ImportResult:
    """The imported config's text, what it holds, and what could not be carried over."""

    text: str
    services: dict[str, int]
    """Service type -> number of instances imported, in file order."""
    unmapped: list[Unmapped]


def import_jairouter(text: str, file: str, *, adapters: Capabilities | None = None) -> ImportResult:
    """Convert JAiRouter's YAML `text` (named `file` in reports) into a jairouter config.

    `adapters` (`jairouter.adapters.registry.capabilities()`) lets instances whose adapter
    cannot serve their service fall back to openai; without it adapter names go unchecked.
    Raises `ConfigError` when `text` is not YAML or holds no `model:` section.
    """
    report = Report(file)
    root = Section(model_document(text, file, report), "", report)
    out = CommentedMap()
    server = root.section("server")
    if server is not None and (listener := _server(server)):
        out["server"] = listener
    model = root.section("model")
    if model is None:  # `model:` with nothing under it
        model = Section(CommentedMap(), "model", report)
    out.update(convert_model(model, adapters))
    root.finish(_OUTSIDE)
    services = {name: len(service["instances"]) for name, service in out["services"].items()}
    text = render(out, file, len(report.unmapped), report.notes)
    unmapped = sorted(report.unmapped, key=_file_order)
    return ImportResult(text, services, unmapped)


def _file_order(item: Unmapped) -> tuple[bool, int, int]:
    return item.line is None, item.line or 0, item.column or 0


def _server(section: Section) -> CommentedMap:
    out = CommentedMap()
    host = section.text("address")
    port = section.number("port")
    section.finish(_SERVER)
    if host:
        out["host"] = host
    if port is not None and 0 <= port <= 65_535 and float(port).is_integer():
        out["port"] = int(port)
        if not host:
            out.yaml_add_eol_comment(_SPRING_HOST, "port")
    elif port is not None:
        section.report.leave_out(section.key("port"), section.position("port"), "not a TCP port")
    return out
