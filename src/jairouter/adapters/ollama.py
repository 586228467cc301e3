"""Ollama's native API, translated both ways so OpenAI clients cannot tell it is Ollama.

Requests are rewritten by `ollama_request`, answers by `ollama_response` (whole bodies) and
`ollama_stream` (NDJSON streams to SSE). Ollama's own `/v1` layer would spare the translation but
lags the native API (options, images, tools) and answers with Ollama's own ids and fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import orjson

from jairouter.adapters.base import Translator, UpstreamCall
from jairouter.adapters.errorbody import normalize_error
from jairouter.adapters.ollama_request import chat_request, embed_request, generate_request
from jairouter.adapters.ollama_response import chat_completion, embedding_list, text_completion
from jairouter.adapters.ollama_stream import ChatStream, CompletionStream
from jairouter.adapters.rewrite import WholeBody
from jairouter.adapters.wire import bearer, instance_headers, server_root
from jairouter.config.models import InstanceConfig
from jairouter.types import ProxyRequest, ServiceType

_S = ServiceType
_PATHS = {_S.CHAT: "/api/chat", _S.COMPLETION: "/api/generate", _S.EMBEDDING: "/api/embed"}
_REQUESTS: dict[ServiceType, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    _S.CHAT: chat_request,
    _S.COMPLETION: generate_request,
    _S.EMBEDDING: embed_request,
}


class OllamaAdapter:
    """Ollama (`ollama serve`), spoken to through /api/chat, /api/generate and /api/embed."""

    name: ClassVar[str] = "ollama"
    services: ClassVar[frozenset[ServiceType]] = frozenset(_PATHS)
    probe_path: ClassVar[str] = "/api/tags"
    """What active health probes GET below `root`: the local models, cheap to list."""

    def __init__(self, instance: InstanceConfig) -> None:
        # A URL copied from an OpenAI client setup may end in /v1, one from Ollama's docs in /api.
        self.root = server_root(instance.url, ("/v1", "/api"))
        self.urls = {service: self.root + path for service, path in _PATHS.items()}
        # Ollama itself takes no key; one behind an authenticating proxy or ollama.com takes Bearer.
        self.headers = instance_headers(instance, bearer(instance.api_key))
        self.model = instance.sent_model

    def prepare(self, req: ProxyRequest) -> UpstreamCall:
        service = req.endpoint.service
        body = _REQUESTS[service](req.payload or {}, self.model)
        return UpstreamCall(self.urls[service], self.headers, orjson.dumps(body))

    def translator(self, req: ProxyRequest) -> Translator:
        service = req.endpoint.service
        if service is _S.CHAT:
            return ChatStream(req) if req.stream else WholeBody(req, chat_completion)
        if service is _S.COMPLETION:
            return CompletionStream(req) if req.stream else WholeBody(req, text_completion)
        return WholeBody(req, embedding_list)

    def translate_error(self, status: int, body: bytes) -> bytes:
        return normalize_error(status, body)
