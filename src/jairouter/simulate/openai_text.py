"""OpenAI text generation as llama.cpp's server sends it: /v1/models, /v1/chat/completions and
/v1/completions, whole or as Server-Sent Events.

Field order and framing follow /work/shared/wire captures: each event is `data: <json>\\n\\n`; a
chat stream opens with a delta holding the role and `content: null`, sends one event per token,
a last event carrying only `finish_reason`, a usage event with empty `choices` when
`stream_options.include_usage` is set, and ends with `data: [DONE]`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any, Protocol

import orjson
from aiohttp import web

from jairouter.simulate.exchange import Call, json_response
from jairouter.simulate.openai_dialect import OPENAI, optional, served_model
from jairouter.simulate.vectors import count_tokens

SSE = "text/event-stream"
DONE = b"data: [DONE]\n\n"
FINGERPRINT = "jairouter-sim"
OWNER = "jairouter-sim"


class _Shape(Protocol):
    """What differs between a chat completion and a text completion."""

    object: str
    chunk_object: str
    id_prefix: str

    def choice(self, text: str, finish_reason: str) -> dict[str, Any]: ...

    def delta(self, text: str | None, finish_reason: str | None) -> dict[str, Any]: ...

    def opening(self) -> dict[str, Any] | None: ...


class _Chat:
    object = "chat.completion"
    chunk_object = "chat.completion.chunk"
    id_prefix = "chatcmpl-"

    def choice(self, text: str, finish_reason: str) -> dict[str, Any]:
        message = {"role": "assistant", "content": text}
        return {"finish_reason": finish_reason, "index": 0, "message": message}

    def delta(self, text: str | None, finish_reason: str | None) -> dict[str, Any]:
        delta = {} if text is None else {"content": text}
        return {"finish_reason": finish_reason, "index": 0, "delta": delta}

    def opening(self) -> dict[str, Any] | None:
        return {"finish_reason": None, "index": 0, "delta": {"role": "assistant", "content": None}}


class _Text:
    object = "text_completion"
    chunk_object = "text_completion"
    id_prefix = "cmpl-"

    def choice(self, text: str, finish_reason: str) -> dict[str, Any]:
        return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}

    def delta(self, text: str | None, finish_reason: str | None) -> dict[str, Any]:
        return {"text": text or "", "index": 0, "logprobs": None, "finish_reason": finish_reason}

    def opening(self) -> dict[str, Any] | None:
        return None


_CHAT, _TEXT = _Chat(), _Text()


async def list_models(call: Call) -> web.StreamResponse:
    created = int(time.time())
    data = [
        {"id": model, "object": "model", "created": created, "owned_by": OWNER}
        for model in call.settings.models
    ]
    return json_response({"object": "list", "data": data})


async def chat_completions(call: Call) -> web.StreamResponse:
    payload = await call.json()
    model = served_model(call, payload)
    messages = payload.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise OPENAI.invalid("Expected 'messages' to be an array")
    prompt_tokens = sum(count_tokens(text) for m in messages for text in _texts(m.get("content")))
    limit = _max_tokens(payload, "max_completion_tokens")
    if limit is None:
        limit = _max_tokens(payload, "max_tokens")
    return await _complete(call, _CHAT, payload, model, prompt_tokens, limit)


async def completions(call: Call) -> web.StreamResponse:
    payload = await call.json()
    model = served_model(call, payload)
    prompt = payload.get("prompt")
    if isinstance(prompt, str):
        prompt_tokens = count_tokens(prompt)
    elif isinstance(prompt, list):
        # A batch of strings, or token ids (one list, or one list per prompt).
        prompt_tokens = sum(count_tokens(p) if isinstance(p, str) else _length(p) for p in prompt)
    else:
        raise OPENAI.invalid("Expected 'prompt' to be a string or an array")
    limit = _max_tokens(payload, "max_tokens")
    return await _complete(call, _TEXT, payload, model, prompt_tokens, limit)


def _texts(content: object) -> Iterable[str]:
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):  # content parts: text, image_url, input_audio, ...
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                yield part["text"]


def _length(item: object) -> int:
    return len(item) if isinstance(item, list) else 1


def _max_tokens(payload: dict[str, Any], key: str) -> int | None:
    limit = optional(payload, key, int, "a non-negative integer")
    if limit is not None and limit < 0:
        raise OPENAI.invalid(f"Expected '{key}' to be a non-negative integer")
    return limit


async def _complete(
    call: Call,
    shape: _Shape,
    payload: dict[str, Any],
    model: str,
    prompt_tokens: int,
    limit: int | None,
) -> web.StreamResponse:
    reply = call.settings.reply(limit)
    usage = {
        "completion_tokens": len(reply.tokens),
        "prompt_tokens": prompt_tokens,
        "total_tokens": prompt_tokens + len(reply.tokens),
        "prompt_tokens_details": {"cached_tokens": 0},
    }
    ident = shape.id_prefix + uuid.uuid4().hex
    if payload.get("stream") is not True:
        return json_response(
            {
                "choices": [shape.choice(reply.text, reply.finish_reason)],
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": FINGERPRINT,
                "object": shape.object,
                "usage": usage,
                "id": ident,
            }
        )

    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        chunk = {
            "choices": choices,
            "created": int(time.time()),
            "id": ident,
            "model": model,
            "system_fingerprint": FINGERPRINT,
            "object": shape.chunk_object,
            **extra,
        }
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    def tail() -> bytes:
        last = event([shape.delta(None, reply.finish_reason)])
        options = payload.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage") is True:
            last += event([], usage=usage)
        return last + DONE

    opening = shape.opening()
    return await call.stream(
        SSE,
        (event([shape.delta(token, None)]) for token in reply.tokens),
        lead=event([opening]) if opening is not None else b"",
        tail=tail,
    )
