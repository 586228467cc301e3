"""Ollama's native answers rewritten as OpenAI's: whole bodies here (through `WholeBody`), and
the pieces the NDJSON stream translation shares with them."""

from __future__ import annotations

import base64
import secrets
import struct
import time
from datetime import datetime
from typing import Any

import orjson

from jairouter.types import ProxyRequest


def created_of(obj: dict[str, Any]) -> int:
    """Unix time of Ollama's `created_at` (RFC 3339, nanoseconds), or now when absent/invalid."""
    stamp = obj.get("created_at")
    if isinstance(stamp, str):
        try:
            return int(datetime.fromisoformat(stamp).timestamp())
        except ValueError:
            pass
    return int(time.time())


def finish_reason(obj: dict[str, Any], tool_calls: bool) -> str:
    """OpenAI's finish_reason for Ollama's `done_reason` (stop, length, load, unload, ...)."""
    if tool_calls:
        return "tool_calls"
    return "length" if obj.get("done_reason") == "length" else "stop"


def usage(obj: dict[str, Any]) -> dict[str, int]:
    prompt = obj.get("prompt_eval_count") or 0
    completion = obj.get("eval_count") or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def tool_calls(calls: list[dict[str, Any]], first_index: int | None) -> list[dict[str, Any]]:
    """Ollama tool calls (arguments as an object) as OpenAI's (arguments as a JSON string).

    Stream deltas number calls across the whole stream from `first_index`; messages do not.
    """
    converted = []
    for offset, call in enumerate(calls):
        function = call.get("function") or {}
        out: dict[str, Any] = {
            "id": call.get("id") or f"call_{secrets.token_hex(12)}",
            "type": "function",
            "function": {
                "name": function.get("name", ""),
                "arguments": orjson.dumps(function.get("arguments") or {}).decode(),
            },
        }
        if first_index is not None:
            out = {"index": first_index + offset, **out}
        converted.append(out)
    return converted


def chat_completion(obj: dict[str, Any], req: ProxyRequest) -> dict[str, Any]:
    """/api/chat with `stream: false` -> `chat.completion`."""
    message = obj.get("message") or {}
    calls = message.get("tool_calls") or []
    content = message.get("content") or ""
    # OpenAI sends `content: null` beside tool calls, and clients test for it.
    out: dict[str, Any] = {"role": "assistant", "content": content or (None if calls else "")}
    if message.get("thinking"):
        out["reasoning"] = message["thinking"]
    if calls:
        out["tool_calls"] = tool_calls(calls, None)
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion",
        "created": created_of(obj),
        "model": req.model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": out,
                "logprobs": None,
                "finish_reason": finish_reason(obj, bool(calls)),
            }
        ],
        "usage": usage(obj),
    }


def text_completion(obj: dict[str, Any], req: ProxyRequest) -> dict[str, Any]:
    """/api/generate with `stream: false` -> `text_completion`."""
    return {
        "id": f"cmpl-{secrets.token_hex(12)}",
        "object": "text_completion",
        "created": created_of(obj),
        "model": req.model,
        "system_fingerprint": None,
        "choices": [
            {
                "text": obj.get("response") or "",
                "index": 0,
                "logprobs": None,
                "finish_reason": finish_reason(obj, False),
            }
        ],
        "usage": usage(obj),
    }


def embedding_list(obj: dict[str, Any], req: ProxyRequest) -> dict[str, Any]:
    """/api/embed -> OpenAI's embedding list (base64 when the client asked for it)."""
    as_base64 = (req.payload or {}).get("encoding_format") == "base64"
    data = []
    for index, vector in enumerate(obj.get("embeddings") or ()):
        embedding: Any = vector
        if as_base64:  # OpenAI's base64 is the little-endian float32 array
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = obj.get("prompt_eval_count") or 0
    return {
        "object": "list",
        "data": data,
        "model": req.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
