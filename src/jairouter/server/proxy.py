"""The proxied OpenAI endpoints as a plain ASGI handler.

Starlette's Request/StreamingResponse roughly halve streaming throughput, so the hot path stays free
of framework objects: read the body, parse, hand over to the pipeline, and watch for the client
going away so the upstream request is cancelled with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from jairouter.core.client_address import ClientAddressResolver
from jairouter.errors import BadRequest, BodyTooLarge, RouterError
from jairouter.pipeline import Pipeline
from jairouter.pipeline.intake import parse_request
from jairouter.pipeline.relay import StreamCut
from jairouter.pipeline.timers import Timers
from jairouter.server.responses import send_error, send_json
from jairouter.types import Endpoint, ProxyRequest, Receive, Scope, Send

log = logging.getLogger("jairouter.server")

_ALLOW_POST = ((b"allow", b"POST"),)
WATCH_AFTER = 0.05  # seconds before an exchange starts watching for its client leaving


class ClientGone(Exception):
    """The client disconnected before its request body arrived."""


class Exchange:
    """One request/response in flight: whether the client left before it ended.

    The disconnect watcher (a task parked on `receive`) starts only once the exchange has lasted
    `WATCH_AFTER`: most answers are over sooner, and a task per request was a measurable share of
    a fast request's cost. A client that leaves earlier is noticed when the watcher starts.
    """

    __slots__ = ("disconnected", "finished", "receive", "slot", "task", "timers", "watcher")

    def __init__(self, task: asyncio.Task[None], receive: Receive, timers: Timers) -> None:
        self.task = task
        self.receive = receive
        self.timers = timers
        self.finished = False
        self.disconnected = False
        self.watcher: asyncio.Task[None] | None = None
        self.slot = 0
        timers.arm(self, timers.loop.time() + WATCH_AFTER)

    def fire(self, now: float) -> None:
        """Start watching: the exchange has lasted WATCH_AFTER."""
        if not self.finished:
            self.watcher = self.timers.loop.create_task(self._watch())

    async def _watch(self) -> None:
        """Cancel the request's task when the client disconnects before the response ends."""
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                if not self.finished:
                    self.disconnected = True
                    self.task.cancel()
                return

    def finish(self) -> None:
        self.finished = True
        self.timers.disarm(self)
        if self.watcher is not None:
            self.watcher.cancel()


class ProxyHandler:
    def __init__(
        self, pipeline: Pipeline, max_body_size: int, addresses: ClientAddressResolver
    ) -> None:
        self.pipeline = pipeline
        self.max_body_size = max_body_size
        self.addresses = addresses

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, endpoint: Endpoint
    ) -> None:
        if scope["method"] != "POST":
            error = BadRequest(f"{endpoint.path} only accepts POST")
            await send_json(send, 405, error.body(), _ALLOW_POST)
            return
        content_type = ""
        length: bytes | None = None
        forwarded: str | None = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                length = value
            elif name == b"x-forwarded-for":
                forwarded = value.decode("latin-1")
        peer = scope["client"][0] if scope.get("client") else ""
        client = self.addresses.resolve(peer, forwarded) if self.addresses.trusts_proxies else peer
        try:
            body = await self._read_body(receive, length)
            req = parse_request(endpoint, body, content_type, client)
        except ClientGone:
            return
        except RouterError as error:
            await send_error(send, error)
            return
        await self._proxy(req, receive, send)

    async def _proxy(self, req: ProxyRequest, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        assert task is not None
        exchange = Exchange(task, receive, self.pipeline.timers)
        try:
            await self.pipeline.handle(req, send)
        except RouterError as error:
            await send_error(send, error)
        except asyncio.CancelledError:
            if not exchange.disconnected:
                raise  # server shutdown, not the client
            task.uncancel()
            log.info("client disconnected; upstream request for %s cancelled", req.model)
        except StreamCut as cut:
            # The answer began and its upstream broke: returning without ending the response
            # makes the server drop the connection, so the client sees the body is incomplete.
            log.warning("answer for %s cut short: %s", req.model, cut)
        except Exception:
            log.exception("unexpected failure while proxying")
            # If the answer had begun, the server refuses a second start and drops the
            # connection, which is what the client should see then.
            with contextlib.suppress(RuntimeError):
                await send_error(send, RouterError("internal error in the router"))
        finally:
            exchange.finish()

    async def _read_body(self, receive: Receive, length: bytes | None) -> bytes:
        limit = self.max_body_size
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                raise BadRequest("invalid Content-Length header") from None
            if declared > limit:
                raise _too_large(limit)
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        body: bytes = message.get("body", b"")
        if not message.get("more_body", False):
            if len(body) > limit:
                raise _too_large(limit)
            return body
        parts = [body]
        size = len(body)
        while message.get("more_body", False):
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            parts.append(chunk)
        return b"".join(parts)


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"the request body is larger than this router accepts ({limit} bytes); "
        "raise server.max_body_size to allow it"
    )
