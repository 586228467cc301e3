"""Run the real router on uvicorn in a background thread, on a real loopback port."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jairouter.config.models import Config
from jairouter.server.app import Router, create_app
from jairouter.server.run import RouterServer, bind, uvicorn_config


class RouterThread:
    def __init__(self, router: Router, server: RouterServer, port: int) -> None:
        self.router = router
        self.server = server
        self.port = port
        self.url = f"http://127.0.0.1:{port}"


@contextmanager
def run_router(
    config: Config, rng: random.Random | None = None, config_path: Path | None = None
) -> Iterator[RouterThread]:
    """Serve `config` until the block exits; waits for startup and for a clean shutdown.
    With `config_path`, the router watches that file and reloads it."""
    router = create_app(config, rng, config_path)
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
