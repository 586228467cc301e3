"""GPUStack's OpenAI-compatible API.

GPUStack served it under `/v1-openai` first and added `/v1` later (newer releases document only
`/v1`); its Jina-compatible rerank has always been `/v1/rerank`. A configured URL ending in
`/v1-openai` keeps that prefix for the OpenAI endpoints, so older servers keep working. Its own
errors are `{"code", "reason", "message"}`, which `errorbody` reads.
"""

from __future__ import annotations

from typing import ClassVar

from jairouter.adapters.openai import OpenAIAdapter
from jairouter.types import ServiceType

_LEGACY_PREFIX = "/v1-openai"


class GPUStackAdapter(OpenAIAdapter):
    name: ClassVar[str] = "gpustack"

    def endpoint_urls(self, url: str) -> dict[ServiceType, str]:
        if not url.endswith(_LEGACY_PREFIX):
            return super().endpoint_urls(url)
        root = url[: -len(_LEGACY_PREFIX)]
        return {
            service: root
            + (path if service is ServiceType.RERANK else _LEGACY_PREFIX + path.removeprefix("/v1"))
            for service, path in self.paths.items()
        }
