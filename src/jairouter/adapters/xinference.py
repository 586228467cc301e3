"""Xorbits Inference (Xinference)'s OpenAI-compatible API."""

from __future__ import annotations

from typing import ClassVar

from jairouter.adapters.openai import OpenAIAdapter


class XinferenceAdapter(OpenAIAdapter):
    name: ClassVar[str] = "xinference"
