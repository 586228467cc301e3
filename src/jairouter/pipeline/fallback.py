"""Fallback answers once every instance of a model (and its fallback models) failed: a cached
answer to the same request, or a configured static answer."""

from __future__ import annotations

import hashlib
import time
import uuid

import orjson

from jairouter.types import ProxyRequest, ServiceType

STATIC_MODEL = "fallback"


def cache_key(req: ProxyRequest) -> bytes:
    """Requests with the same model and body get the same answer from an idempotent service."""
    digest = hashlib.blake2b(req.body, digest_size=16, key=req.model.encode()[:64])
    return digest.digest()


def static_answer(req: ProxyRequest, text: str) -> tuple[bytes, bytes]:
    """A chat or completion answer with `text`, shaped as the request asked (stream or not):
    the content type and the body."""
    created = int(time.time())
    chat = req.endpoint.service is ServiceType.CHAT
    ident = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex
    if not req.stream:
        choice = (
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            if chat
            else {"index": 0, "text": text, "finish_reason": "stop"}
        )
        body = {
            "id": ident,
            "object": "chat.completion" if chat else "text_completion",
            "created": created,
            "model": STATIC_MODEL,
            "choices": [choice],
        }
        return b"application/json", orjson.dumps(body)
    kind = "chat.completion.chunk" if chat else "text_completion"

    def event(choice: dict[str, object]) -> bytes:
        chunk = {"id": ident, "object": kind, "created": created, "model": STATIC_MODEL}
        return b"data: " + orjson.dumps({**chunk, "choices": [choice]}) + b"\n\n"

    if chat:
        first = {"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}
        last = {"index": 0, "delta": {}, "finish_reason": "stop"}
    else:
        first = {"index": 0, "text": text, "finish_reason": None}
        last = {"index": 0, "text": "", "finish_reason": "stop"}
    return b"text/event-stream", event(first) + event(last) + b"data: [DONE]\n\n"
