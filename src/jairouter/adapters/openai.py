"""The OpenAI protocol: OpenAI itself and every server that speaks it.

Product modules subclass `OpenAIAdapter` and override only what their product does differently.
Everything here is computed once per instance, so `prepare` on the hot path is a couple of dict
lookups and, only when the model name must change, one re-serialisation. Successful answers are
relayed untouched (`translator` is None) except rerank answers a product shapes differently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import orjson

from jairouter.adapters.base import Translator, UpstreamCall
from jairouter.adapters.errorbody import normalize_error
from jairouter.adapters.rerank import without_documents
from jairouter.adapters.rewrite import WholeBody
from jairouter.adapters.wire import bearer, instance_headers, server_root
from jairouter.config.models import InstanceConfig
from jairouter.errors import BadRequest
from jairouter.formdata import FormDataError, replace_form_field
from jairouter.types import ENDPOINTS, MULTIPART_BODY, ProxyRequest, ServiceType


class OpenAIAdapter:
    """OpenAI's API as documented at platform.openai.com, and any server that copies it."""

    name: ClassVar[str] = "openai"
    services: ClassVar[frozenset[ServiceType]] = frozenset(ServiceType)
    paths: ClassVar[Mapping[ServiceType, str]] = {e.service: e.path for e in ENDPOINTS.values()}
    """Path of each service below the server root."""
    ignores_return_documents: ClassVar[bool] = False
    """True for products whose rerank answers carry documents even when asked not to."""
    probe_path: ClassVar[str] = "/v1/models"
    """What active health probes GET below `root`: cheap, and lists the models served."""

    def __init__(self, instance: InstanceConfig) -> None:
        self.instance = instance
        self.root = server_root(instance.url, ("/v1",))
        self.urls = self.endpoint_urls(instance.url)
        self.headers = instance_headers(instance, bearer(instance.api_key))
        # The model named upstream; a request naming another (an alias via upstream_model, or
        # a fallback model's request) is rewritten to it.
        self.sent_model = instance.sent_model

    def endpoint_urls(self, url: str) -> dict[ServiceType, str]:
        """The URL of each service, from the configured URL (server root, or root + `/v1`)."""
        root = server_root(url, ("/v1",))
        return {service: root + self.paths[service] for service in self.services}

    def prepare(self, req: ProxyRequest) -> UpstreamCall:
        url = self.urls[req.endpoint.service]
        if req.endpoint.body is MULTIPART_BODY:
            # The boundary lives in the client's Content-Type, so this dict is per request.
            headers = {**self.headers, "Content-Type": req.content_type}
            return UpstreamCall(url, headers, self.form_body(req))
        return UpstreamCall(url, self.headers, self.json_body(req))

    def form_body(self, req: ProxyRequest) -> bytes:
        """The client's multipart body; only the `model` value changes, and only if it must."""
        if req.model == self.sent_model:
            return req.body
        try:
            return replace_form_field(req.body, req.content_type, "model", self.sent_model)
        except FormDataError as exc:
            raise BadRequest(str(exc)) from None

    def json_body(self, req: ProxyRequest) -> bytes:
        """The client's JSON body, re-serialised only when the model name must change."""
        if req.model == self.sent_model or req.payload is None:
            return req.body
        return orjson.dumps(self.upstream_payload(req.payload))

    def upstream_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A shallow copy of `payload` naming the upstream's model; key order is kept."""
        copy = dict(payload)
        copy["model"] = self.sent_model
        return copy

    def translator(self, req: ProxyRequest) -> Translator | None:
        if (
            self.ignores_return_documents
            and req.endpoint.service is ServiceType.RERANK
            and (req.payload or {}).get("return_documents") is False
        ):
            return WholeBody(req, without_documents)
        return None

    def translate_error(self, status: int, body: bytes) -> bytes:
        return normalize_error(status, body)
