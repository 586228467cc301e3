"""The request's path, in one readable place.

    in (server edge: body read, `intake.parse_request`)
    → choose instance (`routing`: model → pool → balancer)
    → adapter (`prepare`: URL, auth, body for this product)
    → upstream (one shared pooled client; timeouts; errors mapped)
    → stream back (`relay`: chunk by chunk, translated when the product is not OpenAI's)

Auth, limiting, the breaker and metrics join as stages of `Pipeline.handle` when they land.
"""

from __future__ import annotations

import asyncio

import aiohttp

from jairouter.pipeline.relay import relay
from jairouter.pipeline.routing import RouteTable, Target
from jairouter.types import ProxyRequest, Send
from jairouter.upstream.client import UpstreamClient, map_upstream_error


class Pipeline:
    """Routes one parsed request to an instance and streams the answer back."""

    def __init__(self, routes: RouteTable, client: UpstreamClient) -> None:
        self.routes = routes
        self.client = client

    async def handle(self, req: ProxyRequest, send: Send) -> None:
        """Raises a RouterError only before the response to the client has started."""
        target = self.routes.pool(req.endpoint.service, req.model).pick(req.client)
        target.inflight += 1
        try:
            resp = await self._open(req, target)
            try:
                await relay(resp, target.adapter, req, send)
            except BaseException:
                resp.close()  # mid-body failure or client gone: drop, don't pool, the connection
                raise
            resp.release()
        finally:
            target.inflight -= 1

    async def _open(self, req: ProxyRequest, target: Target) -> aiohttp.ClientResponse:
        call = target.adapter.prepare(req)
        try:
            if target.first_byte is None:
                return await self.client.open(call.url, call.headers, call.body, target.timeout)
            async with asyncio.timeout(target.first_byte):
                return await self.client.open(call.url, call.headers, call.body, target.timeout)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise map_upstream_error(exc, target.label) from exc
