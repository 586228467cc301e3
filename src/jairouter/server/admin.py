"""The admin API under /admin, guarded by loopback or a token: live status (a snapshot:
`status`, or a stream of them: `status_stream`), reload, the
effective config and its history, instance and service writes (`admin_write`), circuit resets,
and an OpenAPI document of it all (`openapi`).

Without an admin token only loopback clients are served; with one (`JAIROUTER_ADMIN_TOKEN`),
every caller must send `Authorization: Bearer <token>`, compared in constant time.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from jairouter.errors import error_body
from jairouter.server.admin_breakers import reset_breaker
from jairouter.server.admin_errors import AdminError
from jairouter.server.admin_read import config_versions, effective_config
from jairouter.server.admin_write import ConfigWriter
from jairouter.server.openapi import openapi_document
from jairouter.server.status import router_status
from jairouter.server.status_stream import StatusFeed, stream_interval

if TYPE_CHECKING:
    from jairouter.server.app import Router

TOKEN_ENV = "JAIROUTER_ADMIN_TOKEN"
Handler = Callable[[Request], Awaitable[Response]]


def admin_routes(router: Router) -> list[Route]:
    """Every /admin route, each behind the guard; `openapi.OPERATIONS` documents them all."""
    writer = ConfigWriter(router)
    document = openapi_document()
    feed = StatusFeed(lambda: router_status(router), router.draining)

    async def status(request: Request) -> Response:
        return _json(await router_status(router))

    async def status_stream(request: Request) -> Response:
        interval = stream_interval(request.query_params.get("interval"))
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(
            feed.events(interval), headers=headers, media_type="text/event-stream"
        )

    async def reload(request: Request) -> Response:
        applied = await router.reload_everywhere()
        body = {
            "reloaded": applied,
            "generation": router.reloads.generation,
            "error": router.reloads.error,
            "restart_needed": router.reloads.restart_needed,
        }
        return _json(body, 200 if applied else 422)

    async def openapi(request: Request) -> Response:
        return _json(document)

    bound = functools.partial
    return [
        Route("/admin/status", _guarded(status), methods=["GET"]),
        Route("/admin/status/stream", _guarded(status_stream), methods=["GET"]),
        Route("/admin/reload", _guarded(reload), methods=["POST"]),
        Route("/admin/config", _guarded(bound(effective_config, router)), methods=["GET"]),
        Route("/admin/versions", _guarded(bound(config_versions, router)), methods=["GET"]),
        Route("/admin/instances", _guarded(writer.add), methods=["POST"]),
        Route("/admin/instances", _guarded(writer.update), methods=["PATCH"]),
        Route("/admin/instances", _guarded(writer.remove), methods=["DELETE"]),
        Route("/admin/instances/enable", _guarded(writer.enable), methods=["POST"]),
        Route("/admin/instances/disable", _guarded(writer.disable), methods=["POST"]),
        Route("/admin/services", _guarded(writer.update_service), methods=["PATCH"]),
        Route("/admin/breakers/reset", _guarded(bound(reset_breaker, router)), methods=["POST"]),
        Route("/admin/openapi.json", _guarded(openapi), methods=["GET"]),
    ]


def _guarded(handler: Handler) -> Handler:
    async def guarded(request: Request) -> Response:
        refusal = _refusal(request)
        if refusal is not None:
            body = error_body(refusal, "authentication_error", "admin_unauthorized")
            return Response(body, 401, media_type="application/json")
        try:
            return await handler(request)
        except AdminError as exc:
            return exc.response()

    return guarded


def _refusal(request: Request) -> str | None:
    token = os.environ.get(TOKEN_ENV)
    if token:
        sent = request.headers.get("authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return None
        return "the admin API needs 'Authorization: Bearer <admin token>'"
    if _is_loopback(request.client.host if request.client else ""):
        return None
    return f"the admin API serves only loopback clients unless {TOKEN_ENV} is set"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _json(payload: object, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status, media_type="application/json")
