"""Request ids and access log lines for the routes Starlette serves (/v1/models, /health,
/metrics, /admin/*, unknown paths): what the proxy does for its endpoints, for every other
request, so each response carries an `X-Request-ID` and each request is logged.
"""

from __future__ import annotations

from jairouter.core.client_address import ClientAddressResolver
from jairouter.server.observe import Observer
from jairouter.server.request_id import request_id_of
from jairouter.types import ASGIApp, Message, Receive, Scope, Send

# The access log's `route` of each path Starlette serves; `admin` for everything under /admin.
ROUTES = {"/v1/models": "models", "/health": "health", "/metrics": "metrics"}


def route_of(path: str) -> str | None:
    """The access log's `route` for `path`; None when the router has no such route."""
    if path == "/admin" or path.startswith("/admin/"):
        return "admin"
    return ROUTES.get(path)


def client_address(addresses: ClientAddressResolver, scope: Scope, forwarded: str | None) -> str:
    """The client's address: the peer's, or the X-Forwarded-For hop a trusted proxy names."""
    peer: str = scope["client"][0] if scope.get("client") else ""
    return addresses.resolve(peer, forwarded) if addresses.trusts_proxies else peer


async def serve_marked(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    observer: Observer | None,
    addresses: ClientAddressResolver,
) -> None:
    """Run `app` for one HTTP request, its response marked with the request's id, and the
    request written to the access log when `observer` has one."""
    given: bytes | None = None
    forwarded: str | None = None
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            given = value
        elif name == b"x-forwarded-for":
            forwarded = value.decode("latin-1")
    request_id = request_id_of(given)
    header = (b"x-request-id", request_id.encode())

    async def marked(message: Message) -> None:
        if message["type"] == "http.response.start":
            # A new message: the response's own header list is not ours to change.
            message = {**message, "headers": [*message.get("headers", ()), header]}
        await send(message)

    if observer is None or observer.access_log is None:
        await app(scope, receive, marked)
        return
    path = scope["path"]
    client = client_address(addresses, scope, forwarded)
    seen = observer.begin_other(marked, scope["method"], path, route_of(path), client, request_id)
    try:
        await app(scope, receive, seen.send)
    finally:
        observer.end(seen)
