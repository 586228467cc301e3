"""Prompt and completion text for the access log, only when `include_text` is on."""

from __future__ import annotations

from typing import Any

import orjson

from jairouter.types import ProxyRequest

# Where each endpoint's JSON body holds what the user sent.
_PROMPT_KEYS = ("messages", "prompt", "input", "query", "documents")


def prompt_of(req: ProxyRequest | None) -> Any:
    """What the user sent, as the request's JSON has it (None for multipart uploads)."""
    if req is None or req.payload is None:
        return None
    found = {key: req.payload[key] for key in _PROMPT_KEYS if key in req.payload}
    return found or None


def completion_text(body: bytes | None, stream: bool) -> str | None:
    """The text an answer carried: its choices' content, joined; a stream's deltas, joined."""
    if not body:
        return None
    if not stream:
        return _choices_text(_json(body), "message")
    parts = [
        text
        for line in body.split(b"\n")
        if line.startswith(b"data: {")
        and (text := _choices_text(_json(line[6:]), "delta")) is not None
    ]
    return "".join(parts) if parts else None


def _json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def _choices_text(answer: Any, key: str) -> str | None:
    if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
        return None
    texts = []
    for choice in answer["choices"]:
        if not isinstance(choice, dict):
            continue
        part = choice.get(key)
        text = part.get("content") if isinstance(part, dict) else choice.get("text")
        if isinstance(text, str):
            texts.append(text)
    return "".join(texts) if texts else None
