"""LocalAI's OpenAI-compatible API.

Its Jina-compatible `/v1/rerank` takes no `return_documents` and always returns documents. Its
errors are already `{"error": {"code", "message", "type"}}` and are relayed as they are.
"""

from __future__ import annotations

from typing import ClassVar

from jairouter.adapters.openai import OpenAIAdapter


class LocalAIAdapter(OpenAIAdapter):
    name: ClassVar[str] = "localai"
    ignores_return_documents: ClassVar[bool] = True
