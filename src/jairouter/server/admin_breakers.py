"""`POST /admin/breakers/reset`: close one instance's circuit now, e.g. once its server is fixed
and waiting out the open duration would only delay traffic."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response

from jairouter.core.breaker import CircuitBreaker
from jairouter.server.admin_errors import AdminError, parse_body
from jairouter.server.admin_models import BreakerReset, InstanceRef

if TYPE_CHECKING:
    from jairouter.server.app import Router


async def reset_breaker(router: Router, request: Request) -> Response:
    """Give the named live instance a fresh, closed breaker (404 when it is not routed to:
    unknown, or disabled)."""
    ref = await parse_body(request, InstanceRef)
    url = ref.url.rstrip("/")
    for target in router.routes.targets():
        config = target.config
        if target.service is ref.service and config.model == ref.model and config.url == url:
            old = target.breaker
            # CircuitBreaker has no reset(): a new one with the same settings, clock and hook
            # starts closed; trials granted by the old one settle on the old one, harmlessly.
            target.breaker = CircuitBreaker(
                old.config,
                clock=old._clock,
                on_transition=old._on_transition,
            )
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
