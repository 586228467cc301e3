"""An instance's `base-url` + `path` as the base URL jairouter's adapters build paths from.

JAiRouter calls `base-url + path`; jairouter calls the URL + the adapter's own path for the
service (`/v1/chat/completions`, or `/api/chat` for Ollama). So the standard path is dropped,
a prefix before it is kept in the URL (`/proxy/v1/embeddings` -> `…/proxy`), GPUStack's legacy
`/v1-openai` prefix is kept for the gpustack adapter (which understands it), and any other path
cannot be expressed: the bare base URL is used and the caller reports it.
"""

from __future__ import annotations

from jairouter.types import ENDPOINTS, ServiceType

STANDARD_PATHS: dict[ServiceType, str] = {e.service: e.path for e in ENDPOINTS.values()}
# Paths a product also answers on, to the same effect as the standard one.
_ALSO: dict[str, dict[ServiceType, tuple[str, ...]]] = {
    "ollama": {
        ServiceType.CHAT: ("/api/chat",),
        ServiceType.COMPLETION: ("/api/generate",),
        ServiceType.EMBEDDING: ("/api/embed", "/api/embeddings"),
    },
    "vllm": {ServiceType.RERANK: ("/rerank",)},
}
_GPUSTACK_LEGACY = "/v1-openai"


def instance_url(base: str, path: str | None, service: ServiceType, adapter: str) -> str | None:
    """The URL for jairouter, or None when `path` cannot be expressed (use `base` then)."""
    given = bool(path and path.strip("/"))
    full = base.rstrip("/") + ("/" + (path or "").strip("/") if given else "")
    standard = STANDARD_PATHS[service]
    for suffix in (standard, *_ALSO.get(adapter, {}).get(service, ())):
        if full.endswith(suffix):
            return full[: -len(suffix)] or None
    legacy = _GPUSTACK_LEGACY + standard.removeprefix("/v1")
    if adapter == "gpustack" and full.endswith(legacy):
        return full[: -len(legacy) + len(_GPUSTACK_LEGACY)]
    return None if given else full
