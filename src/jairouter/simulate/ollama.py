"""A simulated Ollama server speaking its native API (docs/api.md in ollama/ollama).

/api/chat and /api/generate stream by default (`"stream"` absent means true) as NDJSON, one
object per token, ending with an object that has `done: true`, `done_reason` and the counts and
nanosecond durations. Errors are `{"error": "..."}`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from jairouter.simulate.exchange import Call, Reject, Route, build_app, json_response
from jairouter.simulate.settings import SimSettings
from jairouter.simulate.vectors import count_tokens, embed

NDJSON = "application/x-ndjson"
VERSION = "0.9.0"
"""The Ollama version /api/version reports."""


def _error(status: int, message: str) -> Reject:
    return Reject(status, {"error": message})


class OllamaDialect:
    def unauthorized(self) -> Reject:
        return _error(401, "unauthorized")

    def bad_json(self, detail: str) -> Reject:
        return _error(400, detail)

    def invalid(self, message: str) -> Reject:
        return _error(400, message)

    def no_route(self, method: str, path: str) -> Reject:
        return _error(404, "404 page not found")


OLLAMA = OllamaDialect()


def _tagged(name: str) -> str:
    """Ollama names without a tag mean `:latest`."""
    return name if ":" in name else f"{name}:latest"


def _served_model(call: Call, payload: dict[str, Any]) -> str:
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise OLLAMA.invalid("model is required")
    if _tagged(model) not in {_tagged(m) for m in call.settings.models}:
        raise _error(404, f'model "{model}" not found, try pulling it first')
    return model


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _check_images(images: object) -> None:
    """Images are base64 strings; Ollama rejects anything else before generating."""
    if images is None:
        return
    if not isinstance(images, list):
        raise OLLAMA.invalid("images must be an array of base64-encoded strings")
    for image in images:
        try:
            base64.b64decode(image, validate=True)
        except (binascii.Error, TypeError, ValueError) as exc:
            raise OLLAMA.invalid(f"illegal base64 data: {exc}") from None


def _num_predict(payload: dict[str, Any]) -> int | None:
    """options.num_predict as a token limit; Ollama's -1 (and -2) mean no limit."""
    options = payload.get("options")
    limit = options.get("num_predict") if isinstance(options, dict) else None
    if limit is None:
        return None
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise OLLAMA.invalid("option num_predict must be an integer")
    return None if limit < 0 else limit


async def tags(call: Call) -> web.StreamResponse:
    models = []
    for name in call.settings.models:
        tagged = _tagged(name)
        details = {
            "parent_model": "",
            "format": "gguf",
            "family": "llama",
            "families": ["llama"],
            "parameter_size": "135M",
            "quantization_level": "Q4_1",
        }
        models.append(
            {
                "name": tagged,
                "model": tagged,
                "modified_at": "2025-01-01T00:00:00Z",
                "size": 96_576_768,
                "digest": hashlib.sha256(tagged.encode()).hexdigest(),
                "details": details,
            }
        )
    return json_response({"models": models})


async def version(call: Call) -> web.StreamResponse:
    return json_response({"version": VERSION})


class _Chat:
    def body(self, text: str) -> dict[str, Any]:
        return {"message": {"role": "assistant", "content": text}}

    def done(self, reason: str) -> dict[str, Any]:
        return {"done_reason": reason, "done": True}


class _Generate:
    def body(self, text: str) -> dict[str, Any]:
        return {"response": text}

    def done(self, reason: str) -> dict[str, Any]:
        return {"done": True, "done_reason": reason}


_CHAT, _GENERATE = _Chat(), _Generate()


async def chat(call: Call) -> web.StreamResponse:
    payload = await call.json()
    model = _served_model(call, payload)
    messages = payload.get("messages") or []
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise OLLAMA.invalid("messages must be an array of objects")
    for message in messages:
        _check_images(message.get("images"))
    prompt = " ".join(m["content"] for m in messages if isinstance(m.get("content"), str))
    return await _generate(call, _CHAT, payload, model, prompt, load_only=not messages)


async def generate(call: Call) -> web.StreamResponse:
    payload = await call.json()
    model = _served_model(call, payload)
    prompt = payload.get("prompt") or ""
    if not isinstance(prompt, str):
        raise OLLAMA.invalid("prompt must be a string")
    _check_images(payload.get("images"))
    return await _generate(call, _GENERATE, payload, model, prompt, load_only=not prompt)


async def _generate(
    call: Call,
    kind: _Chat | _Generate,
    payload: dict[str, Any],
    model: str,
    prompt: str,
    *,
    load_only: bool,
) -> web.StreamResponse:
    """The answer of chat or generate; without messages/prompt Ollama only loads the model."""
    started = time.perf_counter_ns()
    if load_only:
        return json_response(
            {"model": model, "created_at": _now(), **kind.body(""), **kind.done("load")}
        )
    reply = call.settings.reply(_num_predict(payload))
    prompt_tokens = count_tokens(prompt)
    generating_since = time.perf_counter_ns()

    def final(text: str) -> dict[str, Any]:
        now = time.perf_counter_ns()
        return {
            "model": model,
            "created_at": _now(),
            **kind.body(text),
            **kind.done(reply.finish_reason),
            "total_duration": max(now - started, 1),
            "load_duration": max(generating_since - started, 1),
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": 1,
            "eval_count": len(reply.tokens),
            "eval_duration": max(now - generating_since, 1),
        }

    if payload.get("stream", True) is False:
        return json_response(final(reply.text))

    def line(token: str) -> bytes:
        return (
            orjson.dumps({"model": model, "created_at": _now(), **kind.body(token), "done": False})
            + b"\n"
        )

    return await call.stream(
        NDJSON,
        (line(token) for token in reply.tokens),
        tail=lambda: orjson.dumps(final("")) + b"\n",
    )


async def embed_batch(call: Call) -> web.StreamResponse:
    """/api/embed: one or many inputs, unit-length vectors."""
    started = time.perf_counter_ns()
    payload = await call.json()
    model = _served_model(call, payload)
    texts = payload.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise OLLAMA.invalid("invalid input type")
    size = _dimensions(call, payload)
    vectors = [embed(text, size) for text in texts]
    return json_response(
        {
            "model": model,
            "embeddings": vectors,
            "total_duration": max(time.perf_counter_ns() - started, 1),
            "load_duration": 1,
            "prompt_eval_count": sum(count_tokens(t) for t in texts),
        }
    )


async def embed_legacy(call: Call) -> web.StreamResponse:
    """/api/embeddings, superseded by /api/embed: one `prompt`, one `embedding`."""
    payload = await call.json()
    _served_model(call, payload)
    prompt = payload.get("prompt")
    if not isinstance(prompt, str):
        raise OLLAMA.invalid("prompt must be a string")
    return json_response({"embedding": embed(prompt, _dimensions(call, payload))})


def _dimensions(call: Call, payload: dict[str, Any]) -> int:
    size = payload.get("dimensions")
    if size is None:
        return call.settings.embedding_dim
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise OLLAMA.invalid("dimensions must be a positive integer")
    return size


ROUTES: tuple[Route, ...] = (
    ("GET", "/api/tags", tags),
    ("GET", "/api/version", version),
    ("POST", "/api/chat", chat),
    ("POST", "/api/generate", generate),
    ("POST", "/api/embed", embed_batch),
    ("POST", "/api/embeddings", embed_legacy),
)


def ollama_app(settings: SimSettings | None = None) -> web.Application:
    """A simulated Ollama server; its journal is `app[JOURNAL]`."""
    return build_app(settings or SimSettings(), OLLAMA, ROUTES)
