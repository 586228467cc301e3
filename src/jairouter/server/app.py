"""The router's ASGI application: proxied endpoints on a plain handler, the rest on Starlette."""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jairouter.adapters.registry import ADAPTERS
from jairouter.config.models import Config
from jairouter.core.client_address import ClientAddressResolver
from jairouter.errors import error_body
from jairouter.health.prober import Prober
from jairouter.health.target import probe_targets
from jairouter.pipeline import Pipeline
from jairouter.pipeline.admission import Admission
from jairouter.pipeline.routing import RouteTable
from jairouter.server.proxy import ProxyHandler
from jairouter.types import ENDPOINTS, Receive, Scope, Send
from jairouter.upstream.client import UpstreamClient

CONFIG_ENV = "JAIROUTER_CONFIG"


class Router:
    """One router process: routes built from a config, and the upstream client once started."""

    def __init__(self, config: Config, rng: random.Random | None = None) -> None:
        self.config = config
        self.routes = RouteTable(config, ADAPTERS, rng=rng)
        self.admission = Admission(config, time.monotonic)
        self.addresses = ClientAddressResolver(config.server.trusted_proxies)
        prober = Prober(list(probe_targets(config, ADAPTERS, config.health_check_of)))
        # Only instances with active probing enabled are watched; none at all: no prober.
        self.prober = prober if prober.targets else None
        self._proxy: ProxyHandler | None = None
        self._client: UpstreamClient | None = None
        self.app = Starlette(
            routes=[
                Route("/v1/models", self.list_models, methods=["GET"]),
                Route("/health", self.health, methods=["GET"]),
            ],
            exception_handlers={HTTPException: _http_error},
            lifespan=self.running,
        )

    @contextlib.asynccontextmanager
    async def running(self, _app: Starlette) -> AsyncIterator[None]:
        """Lifespan: the shared upstream client and the health probes live exactly as long as
        the server."""
        self._client = UpstreamClient()
        pipeline = Pipeline(self.routes, self._client, self.admission, health=self.prober)
        self._proxy = ProxyHandler(pipeline, int(self.config.server.max_body_size), self.addresses)
        if self.prober is not None:
            self.prober.start()
        try:
            yield
        finally:
            self._proxy = None
            if self.prober is not None:
                await self.prober.stop()
            await self._client.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            endpoint = ENDPOINTS.get(scope["path"])
            if endpoint is not None and self._proxy is not None:
                await self._proxy(scope, receive, send, endpoint)
                return
        await self.app(scope, receive, send)

    async def list_models(self, _request: Request) -> Response:
        data = [
            {
                "id": model,
                "object": "model",
                "created": 0,
                "owned_by": "jairouter",
                "services": [s.value for s in services],
            }
            for model, services in self.routes.models().items()
        ]
        return _json({"object": "list", "data": data})

    async def health(self, _request: Request) -> Response:
        return _json({"status": "ok"})


def _json(payload: object, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status, media_type="application/json")


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = f"{exc.detail}: {_request.method} {_request.url.path}"
    body = error_body(
        message, "invalid_request_error", "not_found" if exc.status_code == 404 else None
    )
    return Response(body, exc.status_code, headers=exc.headers, media_type="application/json")


def create_app(config: Config, rng: random.Random | None = None) -> Router:
    """An ASGI app serving `config`."""
    return Router(config, rng)


def app_from_env() -> Router:
    """Factory for uvicorn workers: loads the config file named by $JAIROUTER_CONFIG."""
    from jairouter.adapters.registry import capabilities
    from jairouter.config.loader import load_config

    return create_app(load_config(Path(os.environ[CONFIG_ENV]), adapters=capabilities()))
