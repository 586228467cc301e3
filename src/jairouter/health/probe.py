"""One active probe: GET the instance's probe URL with its own headers, within a deadline.

httpx rather than the proxy's aiohttp client: probes are few and off the hot path, and they
must not share (or wait for) the pool the requests use. Environment proxies are ignored
(`trust_env=False`) so a probe reaches an instance the way the router does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import httpx
import orjson

from jairouter.core.breaker import Clock
from jairouter.health.target import ProbeTarget

_ERROR_TEXT = 200  # characters of an upstream error message kept in a probe's error


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one probe found."""

    ok: bool
    latency: float
    """Seconds from sending the request to the end of the answer (or the failure)."""
    status: int | None = None
    """The HTTP status, when an answer came."""
    models: tuple[str, ...] | None = None
    """Models the server listed (OpenAI's `data[].id`, Ollama's `models[].name`), if it did."""
    error: str | None = None

    def lists(self, model: str) -> bool | None:
        """Whether the server listed `model` (Ollama's `name` and `name:latest` are the same);
        None when it listed nothing."""
        if self.models is None:
            return None
        listed = {_untagged(name) for name in self.models}
        return _untagged(model) in listed


def _untagged(name: str) -> str:
    return name.removesuffix(":latest")


def new_client() -> httpx.AsyncClient:
    """The client probes share: pooled, no environment proxies, no redirects followed."""
    return httpx.AsyncClient(trust_env=False, follow_redirects=False)


async def probe(
    client: httpx.AsyncClient,
    target: ProbeTarget,
    time_limit: float | None = None,
    *,
    clock: Clock = time.perf_counter,
) -> ProbeResult:
    """Probe `target` once; `time_limit` (default: the target's `timeout`) bounds the whole
    exchange, in seconds.

    Never raises for anything the network or the server does: that is a failed result.
    """
    limit = target.check.timeout if time_limit is None else time_limit
    started = clock()
    try:
        async with asyncio.timeout(limit):
            response = await client.get(
                target.probe_url, headers=dict(target.headers), timeout=limit
            )
    except (TimeoutError, httpx.TimeoutException):
        return ProbeResult(False, clock() - started, error=f"timed out after {limit:g}s")
    except httpx.HTTPError as exc:
        return ProbeResult(False, clock() - started, error=_transport_error(exc))
    latency = clock() - started
    if not response.is_success:
        error = f"HTTP {response.status_code}"
        message = _error_message(response.content)
        return ProbeResult(
            False, latency, response.status_code, error=f"{error}: {message}" if message else error
        )
    models = _reported_models(response.content)
    if target.lists_models and models is None:
        return ProbeResult(
            False, latency, response.status_code, error="the answer is not a model list"
        )
    return ProbeResult(True, latency, response.status_code, models)


async def probe_all(
    targets: Sequence[ProbeTarget],
    *,
    client: httpx.AsyncClient | None = None,
    time_limit: float | None = None,
) -> list[ProbeResult]:
    """Probe every target once, all at the same time; results in the order of `targets`."""
    async with _client(client) as shared:
        return list(await asyncio.gather(*(probe(shared, t, time_limit) for t in targets)))


@contextlib.asynccontextmanager
async def _client(client: httpx.AsyncClient | None) -> AsyncIterator[httpx.AsyncClient]:
    """`client` as given (the caller closes it), or a new one closed on exit."""
    if client is not None:
        yield client
        return
    async with new_client() as owned:
        yield owned


def _transport_error(exc: httpx.HTTPError) -> str:
    """The root cause in a few words: "connection refused", not "All connection attempts failed"."""
    cause: BaseException | None = exc
    found: OSError | None = None
    while cause is not None:
        if isinstance(cause, OSError) and (cause.errno or cause.strerror):
            found = cause
        cause = cause.__cause__ or cause.__context__
    if found is None:
        return str(exc) or type(exc).__name__
    text = os.strerror(found.errno) if found.errno and found.errno > 0 else str(found.strerror)
    return text[:1].lower() + text[1:]


def _json(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _reported_models(body: bytes) -> tuple[str, ...] | None:
    payload = _json(body)
    if not isinstance(payload, dict):
        return None
    data = payload.get("data")  # OpenAI: {"object": "list", "data": [{"id": ...}]}
    if isinstance(data, list):
        return tuple(m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str))
    models = payload.get("models")  # Ollama /api/tags: {"models": [{"name": ...}]}
    if isinstance(models, list):
        return tuple(
            m["name"] for m in models if isinstance(m, dict) and isinstance(m.get("name"), str)
        )
    return None


def _error_message(body: bytes) -> str:
    """The message of an error body in any of the usual shapes, else its start as text."""
    payload = _json(body)
    message: object = None
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            message = error.get("message")
        else:
            message = error or payload.get("message") or payload.get("detail")
    if not isinstance(message, str):
        message = body.decode("utf-8", "replace") if payload is None else ""
    return " ".join(message.split())[:_ERROR_TEXT]
