"""`POST /admin/breakers/reset`: close one instance's circuit now, e.g. once its server is fixed
and waiting out the open duration would only delay traffic."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response

from jairouter.server.admin_errors import AdminError, parse_body
from jairouter.server.admin_models import BreakerReset, InstanceRef

if TYPE_CHECKING:
    from jairouter.pipeline.routing import RouteTable, Target
    from jairouter.server.app import Router
    from jairouter.types import ServiceType


async def reset_breaker(router: Router, request: Request) -> Response:
    """Close the named live instance's circuit, in every worker (404 when it is not routed to:
    unknown, or disabled)."""
    ref = await parse_body(request, InstanceRef)
    url = ref.url.rstrip("/")
    target = close_circuit(router.routes, ref.service, ref.model, url)
    if target is None:
        name = f"{ref.model} at {ref.url} in {ref.service.value}"
        raise AdminError(404, f"no enabled instance {name}", "instance_not_found")
    if router.workers is not None:
        await router.workers.broadcast(
            {
                "command": "close-circuit",
                "service": ref.service.value,
                "model": ref.model,
                "url": url,
            }
        )
    result = BreakerReset(
        service=ref.service, model=ref.model, url=url, circuit=target.breaker.state.value
    )
    return Response(orjson.dumps(result.model_dump(mode="json")), media_type="application/json")


def close_circuit(routes: RouteTable, service: ServiceType, model: str, url: str) -> Target | None:
    """Close the circuit of the instance `model` at `url` (no trailing slash) in `service`;
    the instance, or None if it is not routed to."""
    for target in routes.targets():
        config = target.config
        if target.service is service and config.model == model and config.url == url:
            target.breaker.reset()
            return target
    return None
