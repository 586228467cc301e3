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
from jairouter.errors import BadRequest, BodyTooLarge, MethodNotAllowed, RouterError
from jairouter.pipeline import Pipeline
from jairouter.pipeline.intake import parse_request
from jairouter.pipeline.relay import StreamCut
from jairouter.pipeline.timers import Timers
from jairouter.server.edge import client_address
from jairouter.server.observe import Observation, Observer
from jairouter.server.request_id import request_id_of
from jairouter.server.responses import send_error
from jairouter.types import Endpoint, Receive, Scope, Send

log = logging.getLogger("jairouter.server")

_ALLOW_POST = ((b"allow", b"POST"),)
# W3C trace context and baggage headers, read only by tracing (when it is on).
TRACE_CONTEXT = frozenset({b"traceparent", b"tracestate", b"baggage"})
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
        self,
        pipeline: Pipeline,
        max_body_size: int,
        addresses: ClientAddressResolver,
        observer: Observer | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.max_body_size = max_body_size
        self.addresses = addresses
        self.observer = observer  # access log and tracing; None when both are off

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, endpoint: Endpoint
    ) -> None:
        content_type = ""
        length: bytes | None = None
        forwarded: str | None = None
        given_id: bytes | None = None
        trace_context: dict[str, str] | None = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                length = value
            elif name == b"x-forwarded-for":
                forwarded = value.decode("latin-1")
            elif name == b"x-request-id":
                given_id = value
            elif name in TRACE_CONTEXT:
                trace_context = _with_header(trace_context, name, value)
        client = client_address(self.addresses, scope, forwarded)
        request_id = request_id_of(given_id)
        method = scope["method"]
        observer = self.observer
        if observer is None:
            await self._serve(
                method, endpoint, receive, send, content_type, length, client, request_id
            )
            return
        seen = observer.begin(send, method, endpoint, client, request_id, trace_context)
        try:
            await self._serve(
                method, endpoint, receive, seen.send, content_type, length, client, request_id, seen
            )
        finally:
            observer.end(seen)

    async def _serve(
        self,
        method: str,
        endpoint: Endpoint,
        receive: Receive,
        send: Send,
        content_type: str,
        length: bytes | None,
        client: str,
        request_id: str,
        seen: Observation | None = None,
    ) -> None:
        """Read and parse the body, then proxy it; `seen` records what happened, when on.
        One coroutine for both halves: each coroutine level costs every request."""
        if method != "POST":
            error = MethodNotAllowed(f"{endpoint.path} only accepts POST", headers=_ALLOW_POST)
            await _refuse(send, error, request_id, seen)
            return
        try:
            body = await self._read_body(receive, length)
            req = parse_request(endpoint, body, content_type, client)
        except ClientGone:
            return
        except RouterError as error:
            await _refuse(send, error, request_id, seen)
            return
        req.request_id = request_id
        if seen is not None:
            seen.req = req
        timers = self.pipeline.timers
        # With the loop given, no `get_running_loop()`: on Python 3.11 that is a getpid() call.
        task = asyncio.current_task(timers.loop)
        assert task is not None
        exchange = Exchange(task, receive, timers)
        try:
            await self.pipeline.handle(req, send, seen.trace if seen is not None else None)
        except RouterError as error:
            await _refuse(send, error, req.request_id, seen)
        except asyncio.CancelledError:
            if not exchange.disconnected:
                raise  # server shutdown, not the client
            task.uncancel()
            _note(seen, "client disconnected")
            log.info(
                # %r: the model name is the client's, a newline in it must not forge a line
                "client disconnected; upstream request for %r cancelled [request %s]",
                req.model,
                req.request_id,
            )
        except StreamCut as cut:
            # The answer began and its upstream broke: returning without ending the response
            # makes the server drop the connection, so the client sees the body is incomplete.
            _note(seen, f"answer cut short: {cut}")
            log.warning("answer for %r cut short: %s [request %s]", req.model, cut, req.request_id)
        except Exception as exc:
            _note(seen, f"internal error: {exc!r}")
            log.exception("unexpected failure while proxying [request %s]", req.request_id)
            # If the answer had begun, the server refuses a second start and drops the
            # connection, which is what the client should see then.
            with contextlib.suppress(RuntimeError):
                await _refuse(send, RouterError("internal error in the router"), req.request_id)
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


async def _refuse(
    send: Send, error: RouterError, request_id: str, seen: Observation | None = None
) -> None:
    """Answer with `error`'s OpenAI-style body, naming the request so it can be found in logs."""
    _note(seen, str(error))
    await send_error(send, error, ((b"x-request-id", request_id.encode()),))


def _with_header(headers: dict[str, str] | None, name: bytes, value: bytes) -> dict[str, str]:
    """`headers` with `name: value` added; repeated headers join with commas, as W3C allows."""
    key, text = name.decode("latin-1"), value.decode("latin-1")
    headers = headers if headers is not None else {}
    headers[key] = f"{headers[key]},{text}" if key in headers else text
    return headers


def _note(seen: Observation | None, error: str) -> None:
    if seen is not None and not seen.trace.error:
        seen.trace.error = error


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"the request body is larger than this router accepts ({limit} bytes); "
        "raise server.max_body_size to allow it"
    )
