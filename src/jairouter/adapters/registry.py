"""Every adapter, by the name a config file's `adapter:` uses. Adding a product is one module in
this package plus one line here; nothing else names adapter modules."""

from __future__ import annotations

from jairouter.adapters.base import AdapterFactory
from jairouter.adapters.gpustack import GPUStackAdapter
from jairouter.adapters.localai import LocalAIAdapter
from jairouter.adapters.ollama import OllamaAdapter
from jairouter.adapters.openai import OpenAIAdapter
from jairouter.adapters.vllm import VLLMAdapter
from jairouter.adapters.xinference import XinferenceAdapter
from jairouter.types import ServiceType

ADAPTERS: dict[str, AdapterFactory] = {
    factory.name: factory
    for factory in (
        OpenAIAdapter,
        VLLMAdapter,
        GPUStackAdapter,
        XinferenceAdapter,
        LocalAIAdapter,
        OllamaAdapter,
    )
}
"""Adapter factories in the order docs and `--help` list them; `factory(instance)` builds one."""


def capabilities() -> dict[str, frozenset[ServiceType]]:
    """Service types each adapter can serve, as config validation wants them."""
    return {name: factory.services for name, factory in ADAPTERS.items()}
