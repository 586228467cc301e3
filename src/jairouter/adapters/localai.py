"""LocalAI's OpenAI-compatible API."""

from __future__ import annotations

from typing import ClassVar

from jairouter.adapters.openai import OpenAIAdapter


class LocalAIAdapter(OpenAIAdapter):
    name: ClassVar[str] = "localai"
