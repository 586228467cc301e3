"""Config writes over the admin API: add, change, enable, disable and remove instances, and
change a service's settings (load balancing, rate limits, circuit breaker, retry, timeouts).

Each write goes through the config store (`edit_config`): under the file's edit lock the text is
spliced (comments and order kept), validated, the old text kept as a version described as
`admin: <verb> <service> <model> <url> ...` (`admin: set <service> <key> <value>` for a
service), and the file replaced atomically. The router then
reloads the file, so the YAML stays the source of truth. A write needs a router started from a
config file (503 otherwise).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from jairouter.adapters.registry import capabilities
from jairouter.config.loader import check_config
from jairouter.config.store import (
    Edit,
    add_instance,
    edit_config,
    remove_instance,
    set_enabled,
    set_service_keys,
    update_instance,
)
from jairouter.config.syntax import load_yaml
from jairouter.errors import ConfigError
from jairouter.server.admin_errors import AdminError, invalid_config, parse_body
from jairouter.server.admin_models import (
    InstanceRef,
    InstanceUpdate,
    NewInstance,
    ServiceUpdate,
    VersionInfo,
    WriteResult,
)

if TYPE_CHECKING:
    from jairouter.server.app import Router

Change = Callable[[str, str], str]
"""(current text, file name) -> new text."""


class ConfigWriter:
    """The write endpoints' handlers, bound to one router."""

    def __init__(self, router: Router) -> None:
        self.router = router

    async def add(self, request: Request) -> Response:
        """POST /admin/instances: append an instance (409 when it is already listed)."""
        body = await parse_body(request, NewInstance)
        fields: dict[str, str | int] = {"model": body.model, "url": body.url}
        optional = {
            "adapter": body.adapter,
            "weight": body.weight,
            "upstream_model": body.upstream_model,
            "api_key": body.api_key,
        }
        fields.update({key: value for key, value in optional.items() if value is not None})

        def change(text: str, file: str) -> str:
            return add_instance(text, file, body.service, fields)

        return await self._write("add", body, change, fields, exists=False)

    async def update(self, request: Request) -> Response:
        """PATCH /admin/instances: set weight, adapter, upstream_model, headers or api_key."""
        body = await parse_body(request, InstanceUpdate)
        optional = {
            "weight": body.weight,
            "adapter": body.adapter,
            "upstream_model": body.upstream_model,
            "api_key": body.api_key,
        }
        fields: dict[str, str | int | bool] = {k: v for k, v in optional.items() if v is not None}
        headers = body.headers or {}
        if not (fields or headers):
            message = "nothing to change: give weight, adapter, upstream_model, headers or api_key"
            raise AdminError(400, message, "invalid_body")

        def change(text: str, file: str) -> str:
            return update_instance(text, file, body.service, body.model, body.url, fields, headers)

        return await self._write("set", body, change, fields, headers)

    async def remove(self, request: Request) -> Response:
        """DELETE /admin/instances: remove the instance the body names."""
        body = await parse_body(request, InstanceRef)

        def change(text: str, file: str) -> str:
            return remove_instance(text, file, body.service, body.model, body.url)

        return await self._write("remove", body, change)

    async def enable(self, request: Request) -> Response:
        """POST /admin/instances/enable: send traffic to the instance again."""
        return await self._set_enabled(request, enabled=True)

    async def disable(self, request: Request) -> Response:
        """POST /admin/instances/disable: keep the instance in the file, send it no traffic."""
        return await self._set_enabled(request, enabled=False)

    async def _set_enabled(self, request: Request, *, enabled: bool) -> Response:
        body = await parse_body(request, InstanceRef)

        def change(text: str, file: str) -> str:
            return set_enabled(text, file, body.service, body.model, body.url, enabled)

        return await self._write("enable" if enabled else "disable", body, change)

    async def update_service(self, request: Request) -> Response:
        """PATCH /admin/services: set load_balance, rate_limit, circuit_breaker, retry or
        timeouts of a service, each replacing that key's block in the file."""
        body = await parse_body(request, ServiceUpdate)
        settings = body.settings()
        if not settings:
            keys = "load_balance, rate_limit, circuit_breaker, retry or timeouts"
            raise AdminError(400, f"nothing to change: give {keys}", "invalid_body")
        words = ["admin:", "set", body.service.value]
        for key, value in settings.items():
            shown = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            words += [key, shlex.quote(shown)]

        def change(text: str, file: str) -> str:
            _expect_service(text, file, body.service.value)
            return set_service_keys(text, file, body.service, settings)

        return await self._commit(" ".join(words), change, created=False)

    async def _write(
        self,
        verb: str,
        ref: InstanceRef,
        change: Change,
        fields: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        exists: bool = True,
    ) -> Response:
        def expected(text: str, file: str) -> str:
            _expect(text, file, ref, exists=exists)
            return change(text, file)

        description = describe(verb, ref, fields, headers)
        return await self._commit(description, expected, created=verb == "add")

    async def _commit(self, description: str, change: Change, *, created: bool) -> Response:
        """Edit the file with `change`, reload, and answer with the `WriteResult`."""
        path = self.router.config_path
        if path is None:
            message = "this router was not started from a config file; writes need one"
            raise AdminError(503, message, "no_config_file")
        edit = await run_in_threadpool(_edit, path, change, description)
        applied = await self.router.reload() if edit.changed else False
        reloads = self.router.reloads
        result = WriteResult(
            changed=edit.changed,
            description=description,
            version=VersionInfo.model_validate(edit.version.as_json()) if edit.version else None,
            applied=applied,
            generation=reloads.generation,
            reload_error=None if applied or not edit.changed else reloads.error,
        )
        status = 201 if created and edit.changed else 200
        return Response(
            orjson.dumps(result.model_dump(mode="json")), status, media_type="application/json"
        )


def _edit(path: Path, change: Change, description: str) -> Edit:
    """The store edit, with the admin API's statuses: `change` raises 404/409 for a missing or
    duplicate instance or service, 422 for a result the router could not load (unset `${VAR}`s
    included)."""
    file = str(path)

    def checked(text: str) -> str:
        after = change(text, file)
        if after != text:
            problems = check_config(after, file, adapters=capabilities())
            if problems:
                raise ConfigError(problems)
        return after

    try:
        return edit_config(path, checked, description, adapters=capabilities())
    except ConfigError as exc:
        raise invalid_config(exc) from None
    except TimeoutError as exc:
        raise AdminError(503, str(exc), "config_busy") from None
    except OSError as exc:
        message = f"cannot write {path}: {exc.strerror or exc}"
        raise AdminError(503, message, "config_unwritable") from None


def _expect(text: str, file: str, ref: InstanceRef, *, exists: bool) -> None:
    """Raise 404 when the instance should be listed and is not, 409 when it should not be."""
    try:
        data = load_yaml(text, file)
    except ConfigError:
        return  # the store reports the file's syntax with its location
    found = any(
        isinstance(item, Mapping)
        and str(item.get("model")) == ref.model
        and str(item.get("url")).rstrip("/") == ref.url.rstrip("/")
        for item in _instances(data, ref.service.value)
    )
    name = f"{ref.model} at {ref.url} in {ref.service.value}"
    if exists and not found:
        raise AdminError(404, f"no instance {name}", "instance_not_found")
    if found and not exists:
        raise AdminError(409, f"{name} is already listed", "instance_exists")


def _expect_service(text: str, file: str, service: str) -> None:
    """Raise 404 when the file has no settings for `service`."""
    try:
        data = load_yaml(text, file)
    except ConfigError:
        return
    services = data.get("services") if isinstance(data, Mapping) else None
    if not (isinstance(services, Mapping) and isinstance(services.get(service), Mapping)):
        message = f"no service {service} in the config; add an instance to it first"
        raise AdminError(404, message, "service_not_found")


def _instances(data: Any, service: str) -> list[Any]:
    for key in ("services", service, "instances"):
        if not isinstance(data, Mapping):
            return []
        data = data.get(key)
    return list(data) if isinstance(data, list) else []


def describe(
    verb: str,
    ref: InstanceRef,
    fields: Mapping[str, object] | None = None,
    headers: Mapping[str, str] | None = None,
) -> str:
    """The write as one line for the config history; keys and header values are left out."""
    words = ["admin:", verb, *(shlex.quote(w) for w in (ref.service.value, ref.model, ref.url))]
    for key, value in (fields or {}).items():
        if key not in ("model", "url"):
            words.append(f"{key}={'***' if key == 'api_key' else shlex.quote(str(value))}")
    words += [f"headers.{shlex.quote(name)}=***" for name in headers or {}]
    return " ".join(words)
