"""Run the real router on uvicorn in a background thread, on a real loopback port."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from jairouter.config.models import Config
from jairouter.config.observability import AccessLogConfig, LogFormat, LoggingConfig
from jairouter.server.app import Router, create_app
from jairouter.server.run import RouterServer, bind, uvicorn_config

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
