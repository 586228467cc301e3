"""uvicorn wiring: uvloop + httptools, graceful drain on Ctrl-C / SIGTERM, exit status 0."""

from __future__ import annotations

import contextlib
import copy
import errno
import os
import signal
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.supervisors import Multiprocess

from jairouter.config.models import Config
from jairouter.config.observability import LogFormat
from jairouter.server.app import CONFIG_ENV, LOG_FORMAT_ENV, Router, create_app
from jairouter.server.workers import RUN_DIR_ENV
from jairouter.types import ASGIApp

DRAIN_SECONDS = 30


def uvicorn_config(
    app: ASGIApp | str, *, log_level: str = "info", log_format: LogFormat = "text", **extra: Any
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level=log_level,
        log_config=_log_config(log_level, log_format),
        access_log=False,
        server_header=False,
        proxy_headers=False,  # client addresses come from server.trusted_proxies only
        timeout_graceful_shutdown=DRAIN_SECONDS,
        **extra,
    )


class RouterServer(uvicorn.Server):
    """uvicorn's server, telling the router when the drain begins: uvicorn waits for open
    connections to finish before the lifespan shutdown, so endless streams must end first."""

    def __init__(self, config: uvicorn.Config, router: Router) -> None:
        super().__init__(config)
        self.router = router

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.router.draining.set()
        await super().shutdown(sockets)


def _log_config(level: str, log_format: LogFormat) -> dict[str, Any]:
    """uvicorn's logging, with the router's own loggers (reloads, breakers, relay) printed the
    same way at the same level; without this only their warnings would surface. In json, every
    line is one JSON object (`server/log_format.py`)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    if log_format == "json":
        json_formatter = {"()": "jairouter.server.log_format.JsonFormatter"}
        config["formatters"] = {"default": json_formatter, "access": json_formatter}
    config["loggers"]["jairouter"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


@contextlib.contextmanager
def quiet_signal_exit() -> Iterator[None]:
    """uvicorn drains on SIGINT/SIGTERM, then re-raises the signal under the handler it found;
    a no-op handler makes the drained exit a clean status 0 instead of a traceback or kill."""
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(
    config: Config,
    config_path: Path,
    sock: socket.socket,
    *,
    workers: int,
    log_level: str,
    log_format: LogFormat = "text",
) -> None:
    """Serve on the listening `sock` until Ctrl-C / SIGTERM, draining in-flight requests."""
    host, port = sock.getsockname()[:2]
    with quiet_signal_exit():
        if workers <= 1:
            app = create_app(config, config_path=config_path, tune_gc=True, log_format=log_format)
            cfg = uvicorn_config(
                app, host=host, port=port, log_level=log_level, log_format=log_format
            )
            RouterServer(cfg, app).run(sockets=[sock])
            return
        # Worker processes import the app themselves, so they load the file by path; they
        # share counters and commands through a directory that lives as long as this serve.
        os.environ[CONFIG_ENV] = str(config_path.resolve())
        os.environ[LOG_FORMAT_ENV] = log_format
        cfg = uvicorn_config(
            "jairouter.server.app:app_from_env",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level=log_level,
            log_format=log_format,
        )
        with tempfile.TemporaryDirectory(prefix="jairouter-") as run_dir:
            os.environ[RUN_DIR_ENV] = run_dir
            Multiprocess(cfg, sockets=[sock]).run()


def bind(host: str, port: int, *, fallback_to_free: bool) -> socket.socket:
    """A listening socket on host:port; with `fallback_to_free`, any free port if that is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        if not (fallback_to_free and exc.errno == errno.EADDRINUSE):
            sock.close()
            raise
        sock.bind((host, 0))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
