"""Run the real router on uvicorn in a background thread, on a real loopback port."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from jairouter.config.models import Config
from jairouter.config.observability import AccessLogConfig, LogFormat, LoggingConfig
from jairouter.pipeline.trace import RequestTrace
from jairouter.server.app import Router, create_app
from jairouter.server.run import RouterServer, bind, uvicorn_config
from jairouter.types import ProxyRequest, Send

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider


class RouterThread:
    def __init__(self, router: Router, server: RouterServer, port: int) -> None:
        self.router = router
        self.server = server
        self.port = port
        self.url = f"http://127.0.0.1:{port}"


_NO_ACCESS_LOG = LoggingConfig(access_log=AccessLogConfig(enabled=False))


@contextmanager
def run_router(
    config: Config,
    rng: random.Random | None = None,
    config_path: Path | None = None,
    *,
    log_format: LogFormat = "text",
    tracer_provider: TracerProvider | None = None,
) -> Iterator[RouterThread]:
    """Serve `config` until the block exits; waits for startup and for a clean shutdown, by
    which time the access log is written and spans are exported.
    With `config_path`, the router watches that file and reloads it. A config that does not set
    `logging` gets no access log, to keep test output quiet."""
    if "logging" not in config.model_fields_set:
        config = config.model_copy(update={"logging": _NO_ACCESS_LOG})
    router = create_app(
        config, rng, config_path, log_format=log_format, tracer_provider=tracer_provider
    )
    sock = bind("127.0.0.1", 0, fallback_to_free=False)
    server = RouterServer(uvicorn_config(router, log_level="warning"), router)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the router did not start")
        time.sleep(0.01)
    try:
        yield RouterThread(router, server, sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


class Settled:
    """Waits, without polling, until the router has no request in flight.

    The router counts in-flight requests per target but signals nothing when a count changes, so
    the pipeline's `handle` is wrapped to notify a condition each time a request leaves it, by
    which time the request's count is already back down.
    """

    def __init__(self, router: RouterThread) -> None:
        self.targets = list(router.router.routes.targets())
        self._changed = threading.Condition()
        proxy = router.router._proxy
        assert proxy is not None, "the router has not started"
        pipeline = proxy.pipeline
        handle = pipeline.handle

        async def notifying(
            req: ProxyRequest, send: Send, trace: RequestTrace | None = None
        ) -> None:
            try:
                await handle(req, send, trace)
            finally:
                with self._changed:
                    self._changed.notify_all()

        pipeline.handle = notifying  # type: ignore[method-assign]

    def inflight(self) -> dict[str, int]:
        return {target.label: target.inflight for target in self.targets}

    def wait(self, timeout: float = 5.0) -> None:
        with self._changed:
            idle = self._changed.wait_for(lambda: not any(self.inflight().values()), timeout)
        assert idle, f"still in flight after {timeout}s: {self.inflight()}"


@contextmanager
def serving(cfg: Config) -> Iterator[tuple[RouterThread, httpx.Client]]:
    """The router for `cfg` and a client for it; on a clean exit, nothing is left in flight."""
    with run_router(cfg) as router, httpx.Client(base_url=router.url, timeout=10) as client:
        settled = Settled(router)
        yield router, client
        settled.wait()
