"""Leaf types shared by every layer. Imports nothing from jairouter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from enum import StrEnum
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ServiceType(StrEnum):
    """The kinds of service a router fronts; each OpenAI endpoint belongs to one."""

    CHAT = "chat"
    COMPLETION = "completion"
    EMBEDDING = "embedding"
    RERANK = "rerank"
    TTS = "tts"
    STT = "stt"
    IMAGE_GENERATION = "image-generation"
    IMAGE_EDIT = "image-edit"


class BodyKind(StrEnum):
    JSON = "json"
    MULTIPART = "multipart"


class Endpoint:
    """One proxied OpenAI endpoint: its path, service and how its body is encoded."""

    __slots__ = ("body", "path", "service", "streams")

    def __init__(self, path: str, service: ServiceType, body: BodyKind, streams: bool) -> None:
        self.path = path
        self.service = service
        self.body = body
        # True when the request's `stream: true` asks for SSE.
        self.streams = streams

    def __repr__(self) -> str:
        return f"Endpoint({self.path!r}, {self.service.value})"


# Bound once for the request path: on Python 3.11 a member read off its enum class is an
# unspecialised lookup (~1k instructions).
JSON_BODY, MULTIPART_BODY = BodyKind.JSON, BodyKind.MULTIPART
ENDPOINTS: dict[str, Endpoint] = {
    e.path: e
    for e in (
        Endpoint("/v1/chat/completions", ServiceType.CHAT, JSON_BODY, streams=True),
        Endpoint("/v1/completions", ServiceType.COMPLETION, JSON_BODY, streams=True),
        Endpoint("/v1/embeddings", ServiceType.EMBEDDING, JSON_BODY, streams=False),
        Endpoint("/v1/rerank", ServiceType.RERANK, JSON_BODY, streams=False),
        Endpoint("/v1/audio/speech", ServiceType.TTS, JSON_BODY, streams=False),
        Endpoint("/v1/audio/transcriptions", ServiceType.STT, MULTIPART_BODY, streams=False),
        Endpoint("/v1/images/generations", ServiceType.IMAGE_GENERATION, JSON_BODY, streams=False),
        Endpoint("/v1/images/edits", ServiceType.IMAGE_EDIT, MULTIPART_BODY, streams=False),
    )
}
"""Proxied endpoints by exact request path."""


class ProxyRequest:
    """A parsed client request on its way through the pipeline.

    Built once at the edge; later stages read it and never copy the body.
    """

    __slots__ = (
        "body",
        "client",
        "content_type",
        "endpoint",
        "model",
        "payload",
        "request_id",
        "stream",
    )

    def __init__(
        self,
        endpoint: Endpoint,
        body: bytes,
        payload: dict[str, Any] | None,
        model: str,
        stream: bool,
        client: str,
        content_type: str,
    ) -> None:
        self.endpoint = endpoint
        self.body = body  # raw bytes exactly as the client sent them
        self.payload = payload  # parsed JSON body; None for multipart endpoints
        self.model = model
        self.stream = stream
        self.client = client  # client address, after trusted-proxy resolution
        self.content_type = content_type
        self.request_id = ""  # X-Request-ID: the client's or one the edge made up
