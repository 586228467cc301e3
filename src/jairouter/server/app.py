"""The router's ASGI application: proxied endpoints on a plain handler, the rest on Starlette."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jairouter.adapters.registry import ADAPTERS
from jairouter.config.models import Config
from jairouter.config.observability import LogFormat
from jairouter.core.client_address import ClientAddressResolver
from jairouter.errors import ConfigError, RouterError, error_body
from jairouter.health.prober import Prober
from jairouter.health.target import probe_targets
from jairouter.pipeline import Pipeline
from jairouter.pipeline.admission import Admission
from jairouter.pipeline.routing import RouteTable
from jairouter.server.admin import admin_routes
from jairouter.server.admin_breakers import close_circuit
from jairouter.server.edge import serve_marked
from jairouter.server.metrics import GAUGES, read, render
from jairouter.server.observers import Observers
from jairouter.server.proxy import ProxyHandler
from jairouter.server.reload import (
    BackgroundTasks,
    ReloadLog,
    file_contents,
    on_sighup,
    restart_needed,
    watch_file,
)
from jairouter.server.snapshot import Snapshot, merge
from jairouter.server.status import status_snapshot
from jairouter.server.workers import RUN_DIR_ENV, Workers, on_stop_signal
from jairouter.types import ENDPOINTS, Receive, Scope, Send, ServiceType
from jairouter.upstream.client import UpstreamClient

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

CONFIG_ENV = "JAIROUTER_CONFIG"
LOG_FORMAT_ENV = "JAIROUTER_LOG_FORMAT"


class Router:
    """One router process: routes built from a config, the upstream client once started, and
    the reload machinery that swaps configs without dropping traffic. With `run_dir` it is one
    worker of several (`server.workers`): metrics, reloads and breaker resets span them all."""

    def __init__(
        self,
        config: Config,
        rng: random.Random | None = None,
        config_path: Path | None = None,
        *,
        tune_gc: bool = False,
        run_dir: Path | None = None,
        log_format: LogFormat = "text",
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.config = config
        self.started = time.time()
        self._listening = config.server  # what a reload cannot change
        self._tune_gc = tune_gc
        # Access log and tracing; `log_format` is the access log's unless the config sets one,
        # `tracer_provider` is injected by tests (else spans go over OTLP as configured).
        self.observers = Observers(log_format, tracer_provider)
        self.config_path = config_path.absolute() if config_path is not None else None
        self._rng = rng
        self.routes = RouteTable(config, ADAPTERS, rng=rng)
        self.admission = Admission(config, time.monotonic)
        self.addresses = ClientAddressResolver(config.server.trusted_proxies)
        self.prober = _prober(config, None)
        self.reloads = ReloadLog()
        self._reloading = asyncio.Lock()  # one reload at a time: check, load and swap as one
        self._pipeline: Pipeline | None = None
        self._proxy: ProxyHandler | None = None
        self._client: UpstreamClient | None = None
        self._tasks = BackgroundTasks()
        self.workers = (
            Workers(
                run_dir,
                self.read_metrics,
                {
                    "reload": self._reload_here,
                    "close-circuit": self._close_circuit_here,
                    "status": self._status_here,
                },
            )
            if run_dir is not None
            else None
        )
        # Set when the server starts draining (`run.RouterServer`; in a worker of several, its
        # stop signal: `workers.on_stop_signal`): endless responses such as
        # the status stream end then, as uvicorn waits for open connections before shutdown.
        self.draining = asyncio.Event()
        self.app = Starlette(
            routes=[
                Route("/v1/models", self.list_models, methods=["GET"]),
                Route("/health", self.health, methods=["GET"]),
                Route("/metrics", self.metrics, methods=["GET"]),
                *admin_routes(self),
            ],
            exception_handlers={HTTPException: _http_error, Exception: _internal_error},
            lifespan=self.running,
        )

    @contextlib.asynccontextmanager
    async def running(self, _app: Starlette) -> AsyncIterator[None]:
        """Lifespan: the shared upstream client, the health probes and the config watcher live
        exactly as long as the server."""
        self._client = UpstreamClient()
        self._pipeline = Pipeline(self.routes, self._client, self.admission, health=self.prober)
        observer = self.observers.start(self.config)
        self._proxy = ProxyHandler(
            self._pipeline, int(self.config.server.max_body_size), self.addresses, observer
        )
        if self.prober is not None:
            self.prober.start()
        if self._tune_gc:
            quiet_gc()
        if self.config_path is not None:
            # Read before the server is up, so a change made once it is up is a change.
            loaded = await asyncio.to_thread(file_contents, self.config_path)
            self.reloads.serving(loaded)
            watch = watch_file(self.config_path, self._file_changed, loaded)
            self._tasks.start(watch, "jairouter-config-watch")
            on_sighup(lambda: self._tasks.start(self.reload(), "jairouter-reload"))
        if self.workers is not None:
            await self.workers.start()
            # The supervisor's SIGTERM starts this worker's drain: end endless streams then.
            on_stop_signal(self.draining.set)
        try:
            yield
        finally:
            if self.workers is not None:
                await self.workers.stop()
            self._proxy = None
            await self._tasks.stop()
            if self.prober is not None:
                await self.prober.stop()
            await self._client.close()
            await self.observers.close()

    async def reload(self) -> bool:
        """Load the config file again and apply it, even unchanged (SIGHUP, `jairouter reload`,
        admin writes); an invalid file changes nothing (the problems are logged and kept for
        the status API)."""
        if self.config_path is None:
            self.reloads.failed("this router was not started from a config file")
            return False
        async with self._reloading:
            try:
                contents = await asyncio.to_thread(self.config_path.read_bytes)
            except OSError as exc:
                self.reloads.failed(f"cannot read {self.config_path}: {exc}")
                return False
            return await self._apply_file(contents)

    async def _file_changed(self, contents: bytes) -> None:
        """The watcher read new `contents`: apply them unless the config served came from them
        already (an admin write or `jairouter reload` applied the change first)."""
        async with self._reloading:
            if self.reloads.is_serving(contents):
                self.reloads.unchanged()
            else:
                await self._apply_file(contents)

    async def _apply_file(self, contents: bytes) -> bool:
        from jairouter.adapters.registry import capabilities
        from jairouter.config.loader import parse_config

        path = str(self.config_path)
        try:
            config = parse_config(contents.decode("utf-8"), path, adapters=capabilities())
        except ConfigError as exc:
            self.reloads.failed(str(exc))
            return False
        except UnicodeDecodeError as exc:
            self.reloads.failed(f"cannot read {path}: {exc}")
            return False
        await self.apply(config, contents)
        return True

    async def reload_everywhere(self) -> bool:
        """`reload()` here, then in every sibling worker (they load the same file)."""
        applied = await self.reload()
        if self.workers is not None:
            await self.workers.broadcast({"command": "reload"})
        return applied

    async def _reload_here(self, _request: Mapping[str, Any]) -> Mapping[str, Any]:
        return {"reloaded": await self.reload()}

    async def _status_here(self, _request: Mapping[str, Any]) -> Mapping[str, Any]:
        return status_snapshot(self, histograms=True)

    async def _close_circuit_here(self, request: Mapping[str, Any]) -> Mapping[str, Any]:
        service = ServiceType(request["service"])
        target = close_circuit(self.routes, service, request["model"], request["url"])
        return {"closed": target is not None}

    async def apply(self, config: Config, source: bytes | None = None) -> None:
        """Swap in `config` at once: new instances join, removed ones finish what they hold and
        get nothing new, unchanged ones keep their breaker, limits, health and counters.
        `source`: the file contents it was loaded from, if any."""
        routes = RouteTable(config, ADAPTERS, rng=self._rng, previous=self.routes)
        admission = Admission(config, time.monotonic, previous=self.admission)
        prober, old_prober = _prober(config, self.prober), self.prober
        old_config = self.config
        # No await between these assignments: a request sees the old config or the new one.
        self.config, self.routes, self.admission, self.prober = config, routes, admission, prober
        self.addresses = ClientAddressResolver(config.server.trusted_proxies)
        if self._pipeline is not None:
            self._pipeline.routes, self._pipeline.admission = routes, admission
            self._pipeline.health = prober
        if self._proxy is not None:
            self._proxy.addresses = self.addresses
            self._proxy.max_body_size = int(config.server.max_body_size)
            self._proxy.observer = self.observers.update(old_config, config)
        self.reloads.applied(restart_needed(self._listening, config.server), source)
        if old_prober is not None:
            await old_prober.stop()
        if prober is not None and self._pipeline is not None:
            prober.start()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = ENDPOINTS.get(scope["path"])
        if endpoint is not None and self._proxy is not None:
            await self._proxy(scope, receive, send, endpoint)
            return
        await serve_marked(self.app, scope, receive, send, self.observers.current, self.addresses)

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

    def read_metrics(self) -> Snapshot:
        """This process's counters (this worker's only, with several)."""
        return read(self.routes, self.admission, self.prober)

    async def metrics(self, _request: Request) -> Response:
        """GET /metrics: Prometheus text format, built from the live counters at each scrape,
        those of every worker with several. Open like /health, not behind the admin guard;
        restrict it at the edge if needed."""
        snapshot = self.read_metrics()
        if self.workers is not None:
            live, departed = await self.workers.snapshots()
            snapshot = merge([snapshot, *live], departed, GAUGES)
        return Response(render(snapshot), headers={"Content-Type": CONTENT_TYPE_LATEST})


def _json(payload: object, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status, media_type="application/json")


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = f"{exc.detail}: {_request.method} {_request.url.path}"
    body = error_body(
        message, "invalid_request_error", "not_found" if exc.status_code == 404 else None
    )
    return Response(body, exc.status_code, headers=exc.headers, media_type="application/json")


async def _internal_error(_request: Request, _exc: Exception) -> Response:
    """Any other failure in a route still answers an OpenAI-style body; Starlette then
    re-raises, so the traceback is logged, not sent."""
    error = RouterError("internal error in the router")
    return Response(error.body(), error.status, media_type="application/json")


def _prober(config: Config, previous: Prober | None) -> Prober | None:
    """Probes for the instances with active checking on (None if none), keeping the health of
    instances a reload did not change."""
    prober = Prober(list(probe_targets(config, ADAPTERS, config.health_check_of)))
    if not prober.targets:
        return None
    if previous is not None:
        for target in prober.targets:
            old = previous.check_of(target.key)
            if old is not None and old == target.check:
                prober.health[target.key] = previous.health[target.key]
                prober.durations[target.key] = previous.durations[target.key]
    return prober


def quiet_gc() -> None:
    """Keep the cyclic garbage collector off the request path.

    Requests leave almost no cyclic garbage, yet the default thresholds ran a full collection
    (~26 ms, most of the p99 spikes) every few hundred requests under load: 12% of the router's
    CPU. Objects alive after start-up are frozen out of collections, and collections run rarely.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 1_000)


def create_app(
    config: Config,
    rng: random.Random | None = None,
    config_path: Path | None = None,
    *,
    tune_gc: bool = False,
    run_dir: Path | None = None,
    log_format: LogFormat = "text",
    tracer_provider: TracerProvider | None = None,
) -> Router:
    """An ASGI app serving `config`; with `config_path`, it reloads when the file changes.
    `tune_gc` is for a process that only serves (not for one shared with tests or tools);
    `run_dir` makes it one worker of several (`server.workers`); `log_format` is the access
    log's unless the config names one."""
    return Router(
        config,
        rng,
        config_path,
        tune_gc=tune_gc,
        run_dir=run_dir,
        log_format=log_format,
        tracer_provider=tracer_provider,
    )


def app_from_env() -> Router:
    """Factory for uvicorn workers: loads the config file named by $JAIROUTER_CONFIG, and
    joins its siblings through the run directory named by $JAIROUTER_RUN_DIR."""
    from jairouter.adapters.registry import capabilities
    from jairouter.config.loader import load_config

    path = Path(os.environ[CONFIG_ENV])
    run_dir = os.environ.get(RUN_DIR_ENV)
    log_format: LogFormat = "json" if os.environ.get(LOG_FORMAT_ENV) == "json" else "text"
    config = load_config(path, adapters=capabilities())
    return create_app(
        config,
        config_path=path,
        tune_gc=True,
        run_dir=Path(run_dir) if run_dir else None,
        log_format=log_format,
    )
