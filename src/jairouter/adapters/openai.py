"""The OpenAI protocol: OpenAI itself and every server that speaks it.

Product modules subclass `OpenAIAdapter` and override only what their product does differently
(paths, rerank shapes). Everything here is computed once per instance, so `prepare` on the hot path
is a couple of dict lookups and, only when the model name must change, one re-serialisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import orjson

from jairouter.adapters.base import Translator, UpstreamCall
from jairouter.adapters.errorbody import normalize_error
from jairouter.adapters.multipart import replace_model_field
from jairouter.adapters.wire import bearer, instance_headers, server_root
from jairouter.config.models import InstanceConfig
from jairouter.types import ENDPOINTS, BodyKind, ProxyRequest, ServiceType


class OpenAIAdapter:
    """OpenAI's API as documented at platform.openai.com, and any server that copies it."""

    name: ClassVar[str] = "openai"
    services: ClassVar[frozenset[ServiceType]] = frozenset(ServiceType)
    paths: ClassVar[Mapping[ServiceType, str]] = {e.service: e.path for e in ENDPOINTS.values()}
    """Path of each service below the server root."""
    api_prefixes: ClassVar[tuple[str, ...]] = ("/v1",)
    """Suffixes of a configured URL that name the API rather than the server; stripped once."""

    def __init__(self, instance: InstanceConfig) -> None:
        self.instance = instance
        root = server_root(instance.url, self.api_prefixes)
        self.urls = {service: root + self.paths[service] for service in self.services}
        self.headers = instance_headers(instance, self.auth_headers())
        upstream = instance.upstream_model
        self.upstream_model = upstream if upstream and upstream != instance.model else None

    def auth_headers(self) -> dict[str, str]:
        """How this product takes the instance's API key."""
        return bearer(self.instance.api_key)

    def prepare(self, req: ProxyRequest) -> UpstreamCall:
        url = self.urls[req.endpoint.service]
        if req.endpoint.body is BodyKind.MULTIPART:
            # The boundary lives in the client's Content-Type, so this dict is per request.
            headers = {**self.headers, "Content-Type": req.content_type}
            body = req.body
            if self.upstream_model is not None:
                body = replace_model_field(body, req.content_type, self.upstream_model)
            return UpstreamCall(url, headers, body)
        return UpstreamCall(url, self.headers, self.json_body(req))

    def json_body(self, req: ProxyRequest) -> bytes:
        """The client's JSON body, re-serialised only when the model name must change."""
        if self.upstream_model is None or req.payload is None:
            return req.body
        return orjson.dumps(self.rename_model(req.payload))

    def rename_model(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A shallow copy of `payload` sending the upstream's model name; key order is kept."""
        renamed = dict(payload)
        renamed["model"] = self.upstream_model
        return renamed

    def translator(self, req: ProxyRequest) -> Translator | None:
        return None

    def translate_error(self, status: int, body: bytes) -> bytes:
        return normalize_error(status, body)
