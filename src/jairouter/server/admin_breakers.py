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
    from jairouter.server.app import Router


async def reset_breaker(router: Router, request: Request) -> Response:
    """Close the named live instance's circuit (404 when it is not routed to: unknown, or
    disabled)."""
    ref = await parse_body(request, InstanceRef)
    url = ref.url.rstrip("/")
    for target in router.routes.targets():
        config = target.config
        if target.service is ref.service and config.model == ref.model and config.url == url:
            target.breaker.reset()
            result = BreakerReset(
                service=ref.service,
                model=ref.model,
                url=config.url,
                circuit=target.breaker.state.value,
            )
            return Response(
                orjson.dumps(result.model_dump(mode="json")), media_type="application/json"
            )
    name = f"{ref.model} at {ref.url} in {ref.service.value}"
    raise AdminError(404, f"no enabled instance {name}", "instance_not_found")
