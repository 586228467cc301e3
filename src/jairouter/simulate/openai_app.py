"""An OpenAI-compatible model server (llama.cpp's wire format) for demo, tests and benchmarks."""

from __future__ import annotations

from aiohttp import web

from jairouter.simulate import openai_media as media
from jairouter.simulate import openai_text as text
from jairouter.simulate.exchange import Route, build_app
from jairouter.simulate.openai_dialect import OPENAI
from jairouter.simulate.settings import SimSettings

ROUTES: tuple[Route, ...] = (
    ("GET", "/v1/models", text.list_models),
    ("POST", "/v1/chat/completions", text.chat_completions),
    ("POST", "/v1/completions", text.completions),
    ("POST", "/v1/embeddings", media.embeddings),
    ("POST", "/v1/rerank", media.rerank),
    ("POST", "/v1/audio/speech", media.speech_audio),
    ("POST", "/v1/audio/transcriptions", media.transcriptions),
    ("POST", "/v1/images/generations", media.image_generations),
    ("POST", "/v1/images/edits", media.image_edits),
)


def openai_app(settings: SimSettings | None = None) -> web.Application:
    """A simulated OpenAI-compatible server; its journal is `app[JOURNAL]`."""
    return build_app(settings or SimSettings(), OPENAI, ROUTES)
