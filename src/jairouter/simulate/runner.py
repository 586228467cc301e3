"""Running simulated servers: inside an event loop (`start`), or in a thread of their own
(`ServerThread`) for synchronous code such as pytest fixtures.

Usage in a coroutine::

    sim = await start(openai_app(SimSettings(token_delay=0)))
    ...  # talk to sim.url, inspect sim.journal
    await sim.close()

and in a synchronous fixture::

    with ServerThread(openai_app(SimSettings(token_delay=0))) as sim:
        yield sim
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

from aiohttp import web

from jairouter.simulate.exchange import JOURNAL
from jairouter.simulate.journal import Journal

SHUTDOWN_GRACE = 0.25
"""Seconds `close()` lets in-flight answers finish before cancelling them (journaled as cut)."""


class RunningServer:
    """A simulated server listening on a real port."""

    def __init__(self, app: web.Application, runner: web.AppRunner, host: str, port: int) -> None:
        self.app = app
        self.port = port
        self._runner = runner
        self.url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def journal(self) -> Journal:
        return self.app[JOURNAL]

    async def close(self) -> None:
        await self._runner.cleanup()

    async def __aenter__(self) -> RunningServer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def start(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serves `app` on `host:port` in the running loop; port 0 picks a free port.

    Returns once the socket listens (connections are accepted from then on). Handlers are
    cancelled when their client disconnects, which is how a stream notices a client gone
    between tokens.
    """
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        handler_cancellation=True,
        shutdown_timeout=SHUTDOWN_GRACE,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port: int = runner.addresses[0][1]
    return RunningServer(app, runner, host, bound_port)


class ServerThread:
    """A simulated server on its own event loop in a daemon thread.

    Entering starts it and returns once it accepts connections; leaving stops it and joins the
    thread. Read the journal from the test thread with `journal.wait_until`.
    """

    def __init__(
        self, app: web.Application, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0
    ) -> None:
        self.app = app
        self._host = host
        self._port = port
        self._timeout = timeout
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jairouter-sim", daemon=True)
        self._server: RunningServer | None = None
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    @property
    def server(self) -> RunningServer:
        if self._server is None:
            raise RuntimeError("the server is not running: enter the ServerThread first")
        return self._server

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def journal(self) -> Journal:
        return self.app[JOURNAL]

    def __enter__(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(self._timeout):
            raise TimeoutError(f"simulated server did not start within {self._timeout}s")
        if self._error is not None:
            raise self._error
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(self._timeout)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        try:
            self._server = await start(self.app, self._host, self._port)
        except Exception as exc:  # e.g. port in use: re-raised in the entering thread
            self._error = exc
            self._ready.set()
            return
        self._stopping = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            await self._server.close()
