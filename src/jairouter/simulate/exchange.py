"""The plumbing every simulated product shares: one `Call` per request, journaled from arrival to
the last byte, checked for its API key, offered to the fault hook, then answered by a handler.

Products differ only in their routes and in how they word errors (`Dialect`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import orjson
from aiohttp import BodyPartReader, hdrs, web
from multidict import MultiDict

from jairouter.simulate.journal import Journal, JournalEntry, Upload
from jairouter.simulate.settings import SimSettings

SETTINGS = web.AppKey("simulate.settings", SimSettings)
JOURNAL = web.AppKey("simulate.journal", Journal)

# Request bodies carry base64 images and audio; aiohttp's default cap of 1 MiB is too small.
MAX_BODY = 64 * 1024 * 1024
_JSON = "application/json"


class Reject(Exception):
    """Ends a request early with an error answer, `body` already in the product's JSON shape."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


class Dialect(Protocol):
    """How one product words the errors that any of its endpoints can hit."""

    def unauthorized(self) -> Reject: ...

    def bad_json(self, detail: str) -> Reject: ...

    def invalid(self, message: str) -> Reject: ...

    def no_route(self, method: str, path: str) -> Reject: ...


def json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(payload), status=status, content_type=_JSON, charset="utf-8"
    )


def _no_tail() -> bytes:
    return b""


class Call:
    """One request being answered: what handlers and the fault hook work with."""

    __slots__ = ("_payload", "dialect", "entry", "journal", "request", "settings")

    def __init__(
        self,
        request: web.Request,
        entry: JournalEntry,
        journal: Journal,
        settings: SimSettings,
        dialect: Dialect,
    ) -> None:
        self.request = request
        self.entry = entry
        self.journal = journal
        self.settings = settings
        self.dialect = dialect
        self._payload: dict[str, Any] | None = None

    async def json(self) -> dict[str, Any]:
        """The body as a JSON object (read once, journaled); the product's 400 otherwise."""
        if self._payload is None:
            body = await self.request.read()
            self.entry.body = body
            try:
                payload = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise self.dialect.bad_json(str(exc)) from None
            if not isinstance(payload, dict):
                raise self.dialect.bad_json("the request body must be a JSON object")
            self.entry.json = self._payload = payload
        return self._payload

    async def form(self) -> MultiDict[str | Upload]:
        """The multipart form, files summarised as `Upload`s (hashed as they stream in)."""
        if not self.request.content_type.startswith("multipart/"):
            raise self.dialect.invalid("Expected a multipart/form-data body")
        form = self.entry.form
        try:
            reader = await self.request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    raise self.dialect.invalid("Nested multipart bodies are not supported")
                form.add(part.name or "", await _read_part(part))
        except ValueError as exc:  # aiohttp's report of a malformed multipart body
            raise self.dialect.invalid(f"Malformed multipart body: {exc}") from None
        return form

    async def stream(
        self,
        content_type: str,
        pieces: Iterable[bytes],
        *,
        lead: bytes = b"",
        tail: Callable[[], bytes] = _no_tail,
    ) -> web.StreamResponse:
        """Sends `lead` at once, each piece after `token_delay`, then `tail()`.

        Every write goes straight to the socket (chunked encoding, TCP_NODELAY), so a reader sees
        each piece as it is produced. A client that goes away shows up here as a cancellation
        (the runner enables handler cancellation) or a failed write; both are journaled.
        """
        response = web.StreamResponse(
            headers={hdrs.CONTENT_TYPE: content_type, "X-Accel-Buffering": "no"}
        )
        response.enable_chunked_encoding()
        await response.prepare(self.request)
        self.entry.status = response.status
        delay = self.settings.token_delay
        try:
            if lead:
                await response.write(lead)
            for piece in pieces:
                if delay:
                    await asyncio.sleep(delay)
                await response.write(piece)
            if last := tail():
                await response.write(last)
            await response.write_eof()
        except ConnectionResetError:
            # Returning (not raising) lets aiohttp wind the connection down without logging an
            # error for what is, for a simulated backend, an expected event.
            self.journal.finish(self.entry, status=response.status, completed=False)
        return response


async def _read_part(part: BodyPartReader) -> str | Upload:
    if part.filename is None:
        return await part.text()
    digest = hashlib.sha256()
    size = 0
    while chunk := await part.read_chunk():
        digest.update(chunk)
        size += len(chunk)
    content_type = part.headers.get(hdrs.CONTENT_TYPE, "application/octet-stream")
    return Upload(part.filename, content_type, size, digest.hexdigest())


Handler = Callable[[Call], Awaitable[web.StreamResponse]]
Route = tuple[str, str, Handler]  # method, path, handler


def build_app(settings: SimSettings, dialect: Dialect, routes: Iterable[Route]) -> web.Application:
    """An aiohttp app answering `routes`, plus a catch-all that answers the product's 404."""
    app = web.Application(client_max_size=MAX_BODY)
    journal = Journal(settings.journal_size)
    app[SETTINGS] = settings
    app[JOURNAL] = journal

    async def no_route(call: Call) -> web.StreamResponse:
        raise dialect.no_route(call.request.method, call.request.path)

    def journaled(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            entry = journal.open(
                JournalEntry(request.method, request.path, request.query, request.headers)
            )
            call = Call(request, entry, journal, settings, dialect)
            try:
                response = await _respond(call, handler)
            except web.HTTPException as exc:  # e.g. aiohttp's own 413 for an oversized body
                journal.finish(entry, status=exc.status, completed=True)
                raise
            except (asyncio.CancelledError, ConnectionResetError):
                journal.finish(entry, status=None, completed=False)
                raise
            journal.finish(entry, status=response.status, completed=True)
            return response

        return handle

    for method, path, handler in routes:
        app.router.add_route(method, path, journaled(handler))
    app.router.add_route("*", "/{tail:.*}", journaled(no_route))
    return app


async def _respond(call: Call, handler: Handler) -> web.StreamResponse:
    settings = call.settings
    try:
        if settings.api_key is not None and not _authorized(call.request, settings.api_key):
            raise call.dialect.unauthorized()
        if settings.hook is not None and (hooked := await settings.hook(call)) is not None:
            return hooked
        return await handler(call)
    except Reject as reject:
        return json_response(reject.body, reject.status)


def _authorized(request: web.Request, api_key: str) -> bool:
    sent = request.headers.get(hdrs.AUTHORIZATION, "")
    return hmac.compare_digest(sent.encode(), f"Bearer {api_key}".encode())
