"""vLLM's OpenAI-compatible server (`vllm serve`)."""

from __future__ import annotations

from typing import ClassVar

from jairouter.adapters.openai import OpenAIAdapter


class VLLMAdapter(OpenAIAdapter):
    name: ClassVar[str] = "vllm"
