"""What the edge watches of one request when the access log or tracing is on.

With both off the proxy holds no `Observer` and none of this runs: no wrapper around `send`,
no clock reads, no record.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from jairouter.pipeline.trace import RequestTrace, Spans
from jairouter.types import Endpoint, Message, ProxyRequest, Send, ServiceType

# nginx's status for "the client closed the connection before the answer began".
CLIENT_CLOSED = 499
# The `route` of the proxied endpoints in the access log; other routes: server/edge.py.
PROXY_ROUTE = "proxy"


class RequestSpan(Spans, Protocol):
    """The span of one whole request (server/tracing.py)."""

    trace_id: str

    def end(self, status: int, error: str, req: ProxyRequest | None) -> None: ...


class Observation:
    """One request seen from the edge. Its `send` is the one the rest of the request uses, to
    see the status and size of what actually reached the client."""

    __slots__ = (
        "_send",
        "client",
        "first_byte",
        "kept",
        "method",
        "path",
        "req",
        "request_id",
        "route",
        "sent",
        "service",
        "span",
        "started",
        "status",
        "trace",
    )

    def __init__(
        self,
        send: Send,
        method: str,
        path: str,
        route: str | None,
        service: ServiceType | None,
        client: str,
        request_id: str,
        trace: RequestTrace,
        span: RequestSpan | None,
        keep_answer: bool,
    ) -> None:
        self._send = send  # the server's
        self.method = method
        self.path = path
        self.route = route  # `proxy`, `admin`, `metrics`, ... (None: no route matched)
        self.service = service  # the proxied endpoint's service
        self.client = client
        self.request_id = request_id
        self.trace = trace
        self.span = span
        self.req: ProxyRequest | None = None  # once the body parsed
        self.status = CLIENT_CLOSED  # until an answer starts
        self.sent = 0  # body bytes sent to the client
        self.started = time.perf_counter()
        self.first_byte: float | None = None  # seconds until the answer started
        # The answer as the client got it, for an access log that shows completion text.
        self.kept: list[bytes] | None = [] if keep_answer else None

    def send(self, message: Message) -> Awaitable[None]:
        # A plain method handing back the server's own awaitable: no coroutine of ours per
        # message, which mattered for streams (one message per event). A method passed as
        # `seen.send`, not the object itself: calling an instance's `__call__` costs ~600
        # instructions more on Python 3.11, on every message.
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.first_byte = time.perf_counter() - self.started
        else:
            body = message.get("body", b"")
            self.sent += len(body)
            if self.kept is not None:
                self.kept.append(body)
        return self._send(message)


class AccessSink(Protocol):
    """Where finished observations go (server/access_log.py)."""

    keep_answer: bool

    def write(self, seen: Observation, duration: float) -> None: ...

    def reopen(self) -> None: ...

    def stop(self) -> None:
        """Hand over what is pending and stop; on the loop, never blocks."""

    def wait_closed(self) -> None:
        """Block until what `stop` handed over is written."""


class SpanSource(Protocol):
    """Starts request spans (server/tracing.py)."""

    def begin(
        self, endpoint: Endpoint, request_id: str, carrier: Mapping[str, str] | None
    ) -> RequestSpan: ...

    def close(self) -> None: ...


class Observer:
    """The access log and tracing, whichever of the two is on."""

    def __init__(self, access_log: AccessSink | None, tracing: SpanSource | None) -> None:
        self.access_log = access_log
        self.tracing = tracing
        self._keep_answer = access_log is not None and access_log.keep_answer
        self.in_flight = 0  # observations begun and not yet ended
        # Set once a reload replaced this observer: called when its last request ends.
        self.on_idle: Callable[[Observer], None] | None = None

    def begin(
        self,
        send: Send,
        method: str,
        endpoint: Endpoint,
        client: str,
        request_id: str,
        trace_context: Mapping[str, str] | None,
    ) -> Observation:
        """A proxied request begins; `trace_context`: its W3C trace context headers, if any."""
        self.in_flight += 1
        span = None
        if self.tracing is not None:
            span = self.tracing.begin(endpoint, request_id, trace_context)
        trace = RequestTrace(span)
        return Observation(
            send,
            method,
            endpoint.path,
            PROXY_ROUTE,
            endpoint.service,
            client,
            request_id,
            trace,
            span,
            self._keep_answer,
        )

    def begin_other(
        self, send: Send, method: str, path: str, route: str | None, client: str, request_id: str
    ) -> Observation:
        """A request to any other route (admin, metrics, health, ...): logged, not traced."""
        self.in_flight += 1
        trace = RequestTrace()
        return Observation(send, method, path, route, None, client, request_id, trace, None, False)

    def end(self, seen: Observation) -> None:
        duration = time.perf_counter() - seen.started
        if seen.span is not None:
            seen.span.end(seen.status, seen.trace.error, seen.req)
        if self.access_log is not None:
            self.access_log.write(seen, duration)
        self.in_flight -= 1
        if not self.in_flight and self.on_idle is not None:
            self.on_idle(self)

    def reopen(self) -> None:
        """Let go of a rotated access log file: new lines go to a new file at its path."""
        if self.access_log is not None:
            self.access_log.reopen()

    async def close(self) -> None:
        """Write and export what is pending, then stop. The waiting (a writer thread stuck on
        a full pipe, an exporter's last export) happens in a thread, never on the loop."""
        self.on_idle = None
        if self.access_log is not None:
            self.access_log.stop()  # its batch lives on the loop: hand it over from here
        await asyncio.to_thread(self._wait_closed)

    def _wait_closed(self) -> None:
        if self.access_log is not None:
            self.access_log.wait_closed()
        if self.tracing is not None:
            self.tracing.close()
