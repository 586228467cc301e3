"""Talking to a router's admin API: the status snapshots `jairouter top` shows, and the
instance actions it offers.

`StatusSource.snapshots` follows GET /admin/status/stream (Server-Sent Events) and falls back to
polling GET /admin/status when the router has no stream. Every way of not getting a snapshot
(refused connection, timeout, 401, bad body, a stream that ended) is `Disconnected`, with a
short reason for the screen.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

import httpx
import orjson

TOKEN_ENV = "JAIROUTER_ADMIN_TOKEN"
STREAM_PATH = "/admin/status/stream"
STATUS_PATH = "/admin/status"
NO_STREAM = frozenset({404, 405})  # a router from before the stream: poll instead

Snapshot = Mapping[str, Any]


class Disconnected(Exception):
    """No snapshot from the router; `reason` says why, briefly."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ActionFailed(Exception):
    """The router refused or did not answer an instance action; the message says why."""


class Source(Protocol):
    """Where `TopApp` gets snapshots and sends actions (a router, or fixed data in tests)."""

    url: str

    def snapshots(self, interval: float) -> AsyncIterator[Snapshot]: ...

    async def act(self, path: str, body: Mapping[str, str]) -> None: ...

    async def aclose(self) -> None: ...


class StatusSource:
    """A router's admin API over one kept-alive `httpx.AsyncClient`."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 2.0) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # reads time out, except between stream events, which come every interval
        self._client = httpx.AsyncClient(base_url=self.url, headers=headers, timeout=timeout)
        self.streaming = True

    async def snapshots(self, interval: float) -> AsyncIterator[Snapshot]:
        """Snapshots as the router sends them, about every `interval` seconds, until
        `Disconnected` is raised (a stream that ends is a disconnect too)."""
        if self.streaming:
            async for snapshot in self._stream(interval):
                yield snapshot
            if self.streaming:
                raise Disconnected("the router ended the status stream")
        while True:
            yield await self.fetch()
            await asyncio.sleep(interval)

    async def _stream(self, interval: float) -> AsyncIterator[Snapshot]:
        timeout = httpx.Timeout(self._client.timeout.connect, read=interval + 5.0)
        params = {"interval": format(interval, "g")}
        try:
            async with self._client.stream(
                "GET", STREAM_PATH, params=params, timeout=timeout
            ) as answer:
                if answer.status_code in NO_STREAM:
                    self.streaming = False
                    return
                _check(answer, STREAM_PATH)
                async for line in answer.aiter_lines():
                    if line.startswith("data:"):
                        yield _snapshot(line[5:].strip().encode(), STREAM_PATH)
        except httpx.HTTPError as exc:
            raise Disconnected(_describe(exc)) from exc

    async def fetch(self) -> Snapshot:
        """One GET /admin/status."""
        try:
            answer = await self._client.get(STATUS_PATH)
        except httpx.HTTPError as exc:
            raise Disconnected(_describe(exc)) from exc
        _check(answer, STATUS_PATH)
        return _snapshot(answer.content, STATUS_PATH)

    async def act(self, path: str, body: Mapping[str, str]) -> None:
        """POST `body` to the admin API at `path`; `ActionFailed` in the router's own words."""
        try:
            answer = await self._client.post(path, json=dict(body))
        except httpx.HTTPError as exc:
            raise ActionFailed(f"{path}: {_describe(exc)}") from exc
        if answer.status_code >= 400:
            raise ActionFailed(f"{path}: HTTP {answer.status_code}: {_error_message(answer)}")

    async def aclose(self) -> None:
        await self._client.aclose()


def _check(answer: httpx.Response, path: str) -> None:
    if answer.status_code == 401:
        raise Disconnected(f"admin API refused the request: set --token or ${TOKEN_ENV}")
    if answer.status_code != 200:
        raise Disconnected(f"HTTP {answer.status_code} from {path}")


def _snapshot(raw: bytes, path: str) -> Snapshot:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Disconnected(f"{path} did not answer JSON") from exc
    if not isinstance(body, dict):
        raise Disconnected(f"{path} answered an unexpected shape")
    return body


def _error_message(answer: httpx.Response) -> str:
    try:
        error = answer.json()["error"]
        return str(error["message"])
    except (ValueError, KeyError, TypeError):
        return answer.text[:200] or answer.reason_phrase


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
