from __future__ import annotations

from jairouter.adapters.gpustack import GPUStackAdapter
from jairouter.types import ServiceType

from .conftest import MakeInstance


def test_a_legacy_v1_openai_url_keeps_its_prefix(make_instance: MakeInstance) -> None:
    adapter = GPUStackAdapter(make_instance("gpustack", url="http://gpustack:80/v1-openai"))
    assert adapter.urls[ServiceType.CHAT] == "http://gpustack:80/v1-openai/chat/completions"
    assert adapter.urls[ServiceType.STT] == "http://gpustack:80/v1-openai/audio/transcriptions"
    # Rerank was never under /v1-openai.
    assert adapter.urls[ServiceType.RERANK] == "http://gpustack:80/v1/rerank"


def test_newer_urls_use_v1(make_instance: MakeInstance) -> None:
    for url in ("http://gpustack:80", "http://gpustack:80/v1"):
        adapter = GPUStackAdapter(make_instance("gpustack", url=url))
        assert adapter.urls[ServiceType.EMBEDDING] == "http://gpustack:80/v1/embeddings"
        assert adapter.urls[ServiceType.RERANK] == "http://gpustack:80/v1/rerank"
