"""Xorbits Inference (Xinference)'s OpenAI-compatible API.

Its `/v1/rerank` answers in Cohere's v1 shape, `{id, results, meta: {tokens}}`, without `model`
or `usage`, and counts tokens only when asked (`return_len: true`), so rerank requests ask for the
count and answers are rewritten. Errors come from FastAPI (`{"detail": ...}`) or, for unexpected
failures, as plain text; `errorbody` reads both.
"""

from __future__ import annotations

from typing import ClassVar

import orjson

from jairouter.adapters.base import Translator
from jairouter.adapters.openai import OpenAIAdapter
from jairouter.adapters.rerank import from_cohere_meta
from jairouter.adapters.rewrite import WholeBody
from jairouter.types import ProxyRequest, ServiceType


class XinferenceAdapter(OpenAIAdapter):
    name: ClassVar[str] = "xinference"

    def json_body(self, req: ProxyRequest) -> bytes:
        if req.endpoint.service is not ServiceType.RERANK or req.payload is None:
            return super().json_body(req)
        payload = self.upstream_payload(req.payload)
        payload.setdefault("return_len", True)
        return orjson.dumps(payload)

    def translator(self, req: ProxyRequest) -> Translator | None:
        if req.endpoint.service is ServiceType.RERANK:
            return WholeBody(req, from_cohere_meta)
        return None
