"""The admin API under /admin, guarded by loopback or a token: live status (a snapshot, or a
stream of them: `status_stream`), reload, the
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
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from jairouter import __version__
from jairouter.config.masking import without_password
from jairouter.errors import error_body
from jairouter.server.admin_breakers import reset_breaker
from jairouter.server.admin_errors import AdminError
from jairouter.server.admin_limits import instance_limits, service_limits
from jairouter.server.admin_read import config_versions, effective_config, instance_counters
from jairouter.server.admin_write import ConfigWriter
from jairouter.server.openapi import openapi_document
from jairouter.server.status_stream import StatusFeed, stream_interval

if TYPE_CHECKING:
    from jairouter.server.app import Router
    from jairouter.types import ServiceType

TOKEN_ENV = "JAIROUTER_ADMIN_TOKEN"
Handler = Callable[[Request], Awaitable[Response]]


def admin_routes(router: Router) -> list[Route]:
    """Every /admin route, each behind the guard; `openapi.OPERATIONS` documents them all."""
    started = time.time()
    writer = ConfigWriter(router)
    document = openapi_document()
    feed = StatusFeed(lambda: status_snapshot(router, started), router.draining)

    async def status(request: Request) -> Response:
        return _json(status_snapshot(router, started))

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


def status_snapshot(router: Router, started: float) -> dict[str, object]:
    """What `jairouter top` and scripts read: every instance's live state, and per service
    the balancing strategy, the requests its rate limits refused (429) and its disabled
    instances."""
    prober = router.prober
    services: dict[str, list[dict[str, object]]] = {}
    for pool in router.routes.pools():
        for target in pool.targets:
            breaker = target.breaker.snapshot()
            services.setdefault(pool.service.value, []).append(
                {
                    "model": target.config.model,
                    "url": without_password(target.config.url),
                    "adapter": target.config.adapter,
                    "weight": target.weight,
                    "inflight": target.inflight,
                    "circuit": breaker.state.value,
                    "circuit_retry_in": round(breaker.retry_in, 3),
                    "healthy": prober.serving(target.key) if prober is not None else None,
                    "health_reason": prober.reason(target.key) if prober is not None else None,
                    "ejected": pool.outliers.ejected(target.key),
                    "limits": instance_limits(target),
                    **instance_counters(target),
                }
            )
    config = router.config
    refused: dict[ServiceType, int] = {}
    for (service, _scope), count in router.admission.rejected.items():
        refused[service] = refused.get(service, 0) + count
    service_state = {
        service.value: {
            "load_balance": config.load_balance_of(service),
            "rate_limited": refused.get(service, 0),
            # listed so a viewer can offer to enable them again
            "disabled": [
                {"model": inst.model, "url": without_password(inst.url)}
                for inst in svc.instances
                if not inst.enabled
            ],
        }
        for service, svc in config.services.items()
    }
    return {
        "version": __version__,
        "pid": os.getpid(),  # the worker that answered, with `serve --workers N`
        "uptime": round(time.time() - started, 3),
        "config": {
            "generation": router.reloads.generation,
            "applied_at": router.reloads.applied_at,
            "path": str(router.config_path) if router.config_path else None,
            "reload_error": router.reloads.error,
            "restart_needed": router.reloads.restart_needed,
        },
        "services": services,
        "service_limits": service_limits(router),
        "service_state": service_state,
    }


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
