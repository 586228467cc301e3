"""`GET /admin/openapi.json`: an OpenAPI 3.1 document of the admin API, its schemas generated
from the pydantic models in `admin_models` (JSON Schema 2020-12, as OpenAPI 3.1 expects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from jairouter import __version__
from jairouter.server.admin_models import (
    AnyObject,
    BreakerReset,
    ErrorBody,
    InstanceRef,
    InstanceUpdate,
    NewInstance,
    ReloadResult,
    RouterStatus,
    ServiceUpdate,
    VersionList,
    WriteResult,
)

_WRITE_ERRORS = {
    400: "Malformed body.",
    404: "No such instance.",
    422: "The resulting config would be invalid (its problems listed); nothing written.",
    503: "The router was not started from a config file, or the file cannot be written now.",
}


@dataclass(frozen=True)
class Operation:
    """One admin endpoint as documented."""

    method: str
    path: str
    summary: str
    ok: int
    result: type[BaseModel]
    body: type[BaseModel] | None = None
    errors: dict[int, str] = field(default_factory=dict)
    other: dict[int, tuple[type[BaseModel], str]] = field(default_factory=dict)
    parameters: tuple[dict[str, Any], ...] = ()
    media_type: str = "application/json"


OPERATIONS: tuple[Operation, ...] = (
    Operation("get", "/admin/status", "Every instance's live state.", 200, RouterStatus),
    Operation(
        "get",
        "/admin/status/stream",
        "The live state as Server-Sent Events: `data: <the /admin/status JSON>` each interval, "
        "until the client leaves or the server drains.",
        200,
        AnyObject,
        errors={400: "interval is not a number of seconds from 0.1 to 60."},
        parameters=(
            {
                "name": "interval",
                "in": "query",
                "required": False,
                "description": "Seconds between events (default 1).",
                "schema": {"type": "number", "minimum": 0.1, "maximum": 60, "default": 1},
            },
        ),
        media_type="text/event-stream",
    ),
    Operation(
        "post",
        "/admin/reload",
        "Reload the config file now.",
        200,
        ReloadResult,
        other={422: (ReloadResult, "The file was rejected; the running config is kept.")},
    ),
    Operation("get", "/admin/config", "The effective config, secrets masked.", 200, AnyObject),
    Operation(
        "get",
        "/admin/versions",
        "The config file's kept versions, oldest first.",
        200,
        VersionList,
        errors={503: "The router was not started from a config file."},
    ),
    Operation(
        "post",
        "/admin/instances",
        "Add an instance.",
        201,
        WriteResult,
        NewInstance,
        {**_WRITE_ERRORS, 409: "The instance is already listed."},
        {200: (WriteResult, "Nothing to change.")},
    ),
    Operation(
        "patch",
        "/admin/instances",
        "Change an instance's settings.",
        200,
        WriteResult,
        InstanceUpdate,
        _WRITE_ERRORS,
    ),
    Operation(
        "delete",
        "/admin/instances",
        "Remove an instance.",
        200,
        WriteResult,
        InstanceRef,
        _WRITE_ERRORS,
    ),
    Operation(
        "post",
        "/admin/instances/enable",
        "Send traffic to an instance again.",
        200,
        WriteResult,
        InstanceRef,
        _WRITE_ERRORS,
    ),
    Operation(
        "post",
        "/admin/instances/disable",
        "Keep an instance in the file but send it no traffic.",
        200,
        WriteResult,
        InstanceRef,
        _WRITE_ERRORS,
    ),
    Operation(
        "patch",
        "/admin/services",
        "Change a service's load_balance, rate_limit, circuit_breaker, retry or timeouts.",
        200,
        WriteResult,
        ServiceUpdate,
        {**_WRITE_ERRORS, 404: "No such service in the config."},
    ),
    Operation(
        "post",
        "/admin/breakers/reset",
        "Close an enabled instance's circuit now.",
        200,
        BreakerReset,
        InstanceRef,
        {400: "Malformed body.", 404: "No such enabled instance."},
    ),
    Operation("get", "/admin/openapi.json", "This document.", 200, AnyObject),
)


def openapi_document() -> dict[str, Any]:
    """The admin API as an OpenAPI 3.1 document."""
    schemas = _schemas()
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "jairouter admin API",
            "version": __version__,
            "description": "Served to loopback clients only, unless JAIROUTER_ADMIN_TOKEN is "
            "set: then every caller sends `Authorization: Bearer <token>`.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"adminToken": []}],
    }


def _operation(op: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {str(op.ok): _response(op.result, op.summary, op.media_type)}
    for status, (model, description) in op.other.items():
        responses[str(status)] = _response(model, description)
    errors = {**op.errors, 401: "Not loopback, or a missing or wrong admin token."}
    for status, description in sorted(errors.items()):
        responses[str(status)] = _response(ErrorBody, description)
    operation: dict[str, Any] = {
        "operationId": f"{op.method}_{op.path.strip('/').replace('/', '_').replace('.', '_')}",
        "summary": op.summary,
        "responses": responses,
    }
    if op.parameters:
        operation["parameters"] = list(op.parameters)
    if op.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(op.body)}},
        }
    return operation


def _response(
    model: type[BaseModel], description: str, media_type: str = "application/json"
) -> dict[str, Any]:
    # an event stream's events each carry `model` as JSON; the body itself is text
    schema = _ref(model) if media_type == "application/json" else {"type": "string"}
    return {"description": description, "content": {media_type: {"schema": schema}}}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _schemas() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for op in OPERATIONS:
        models.append((op.result, "serialization"))
        models += [(model, "serialization") for model, _ in op.other.values()]
        if op.body is not None:
            models.append((op.body, "validation"))
    models.append((ErrorBody, "serialization"))
    unique = list(dict.fromkeys(models))
    _, document = models_json_schema(unique, ref_template="#/components/schemas/{model}")
    defs: dict[str, Any] = document.get("$defs", {})
    return defs
