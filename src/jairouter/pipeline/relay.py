"""Stream back: relay an upstream response to the client as it arrives, translated if needed."""

from __future__ import annotations

import logging

import aiohttp

from jairouter.adapters.base import Adapter, Translator
from jairouter.errors import RouterError, UpstreamBroken
from jairouter.types import ProxyRequest, Send
from jairouter.upstream.client import map_upstream_error

log = logging.getLogger("jairouter.relay")

# Hop-by-hop headers (RFC 9110 §7.6.1) and those the ASGI server sets itself.
_NOT_RELAYED = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"upgrade",
        b"server",
        b"date",
    }
)
_REWRITTEN = _NOT_RELAYED | {b"content-length", b"content-type", b"content-encoding"}
_JSON = b"application/json"


def response_headers(
    raw: tuple[tuple[bytes, bytes], ...], content_type: bytes | None = None
) -> list[tuple[bytes, bytes]]:
    """The upstream's headers fit to relay; with `content_type`, for a rewritten body."""
    skip = _NOT_RELAYED if content_type is None else _REWRITTEN
    headers = [(k.lower(), v) for k, v in raw if k.lower() not in skip]
    if content_type is not None:
        headers.append((b"content-type", content_type))
    return headers


async def relay(
    resp: aiohttp.ClientResponse, adapter: Adapter, req: ProxyRequest, send: Send
) -> None:
    """Send `resp` to the client: errors normalised, 2xx bodies chunk by chunk as they arrive.

    Raises a RouterError only before the response has started.
    """
    if resp.status >= 400:
        body = adapter.translate_error(resp.status, await _read(resp))
        await _send_whole(send, resp, body, _JSON)
        return
    translator = adapter.translator(req)
    if translator is None:
        await _relay_stream(resp, req, send, None)
    elif req.stream:
        await _relay_stream(resp, req, send, translator)
    else:
        # A body rewritten whole is converted before anything is sent, so that an unusable
        # answer still reaches the client as an error status rather than a cut connection.
        body = translator.feed(await _read(resp)) + translator.finish()
        await _send_whole(send, resp, body, translator.content_type.encode())


async def _read(resp: aiohttp.ClientResponse) -> bytes:
    try:
        return await resp.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise map_upstream_error(exc, resp.url.host or "upstream") from exc


async def _send_whole(send: Send, resp: aiohttp.ClientResponse, body: bytes, ctype: bytes) -> None:
    headers = response_headers(resp.raw_headers, ctype)
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": resp.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _relay_stream(
    resp: aiohttp.ClientResponse, req: ProxyRequest, send: Send, translator: Translator | None
) -> None:
    ctype = translator.content_type.encode() if translator is not None else None
    headers = response_headers(resp.raw_headers, ctype)
    await send({"type": "http.response.start", "status": resp.status, "headers": headers})
    try:
        if translator is None:
            async for chunk in resp.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            tail = b""
        else:
            async for chunk in resp.content.iter_any():
                out = translator.feed(chunk)
                if out:
                    await send({"type": "http.response.body", "body": out, "more_body": True})
            tail = translator.finish()
    except (aiohttp.ClientError, TimeoutError, RouterError) as exc:
        # Headers are gone already: the status cannot change any more.
        await _abort_stream(resp, req, send, exc)
        return
    await send({"type": "http.response.body", "body": tail, "more_body": False})


class StreamCut(Exception):
    """The upstream failed after the response to the client had begun; the connection must drop."""


async def _abort_stream(
    resp: aiohttp.ClientResponse, req: ProxyRequest, send: Send, exc: BaseException
) -> None:
    """End a response whose upstream failed midway, so the client can tell it is incomplete."""
    where = resp.url.host or "upstream"
    log.warning("upstream %s failed mid-response for %s: %r", where, req.model, exc)
    if req.stream:
        # An SSE client gets a well-formed error event instead of a silent cut.
        event = b"data: " + UpstreamBroken(f"upstream {where} failed mid-stream: {exc}").body()
        await send({"type": "http.response.body", "body": event + b"\n\n", "more_body": False})
        return
    # Any other body: break the connection rather than pretend the body is complete.
    raise StreamCut(f"upstream {where} cut the response: {exc}") from exc
