"""Plain-ASGI JSON responses for the edge (no framework objects on the hot path)."""

from __future__ import annotations

from jairouter.errors import RouterError
from jairouter.types import Send

_JSON_HEADERS = ((b"content-type", b"application/json"),)


async def send_json(
    send: Send, status: int, body: bytes, extra: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_error(
    send: Send, error: RouterError, extra: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    headers = (*error.headers, *extra) if extra else error.headers
    await send_json(send, error.status, error.body(), headers)
