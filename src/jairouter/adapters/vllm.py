"""vLLM's OpenAI-compatible server (`vllm serve`).

Its rerank endpoint (`/v1/rerank`, also `/rerank` and Cohere-v2 `/v2/rerank`) has no
`return_documents` and always answers with each result's document. Its error body was OpenAI's
fields unwrapped (`{"object": "error", "message", ...}`) before it adopted `{"error": {...}}`;
`errorbody` reads both.
"""

from __future__ import annotations

from typing import ClassVar

from jairouter.adapters.openai import OpenAIAdapter


class VLLMAdapter(OpenAIAdapter):
    name: ClassVar[str] = "vllm"
    ignores_return_documents: ClassVar[bool] = True
