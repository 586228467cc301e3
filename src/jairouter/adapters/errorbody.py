"""Rebuilding OpenAI's error body from whatever a product answered with.

OpenAI clients read `{"error": {"message", "type", "param", "code"}}`; the SDKs pick the exception
class from the HTTP status and show `message`. Bodies already in that shape are relayed byte for
byte. The others are rebuilt from the fields they carry; every shape the supported products use is
recognised here, so an instance configured with the generic `openai` adapter in front of, say, vLLM
still gets readable errors:

    {"object": "error", "message", "type", "param", "code"}   vLLM before it wrapped errors
    {"code": 400, "reason": "...", "message": "..."}           GPUStack
    {"detail": "..."} / {"detail": [{"loc", "msg"}, ...]}       FastAPI (Xinference, others)
    {"error": "..."}                                           Ollama
    anything else (HTML, text)                                 its text becomes the message
"""

from __future__ import annotations

from typing import Any

import orjson

from jairouter.errors import error_body

# OpenAI's `type` per status, as its API answers them; any other 4xx is a bad request.
_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_error",
}
_MAX_TEXT = 1000  # an HTML error page is no message; keep its start only


def error_type(status: int) -> str:
    """OpenAI's error `type` for an HTTP status."""
    if status >= 500:
        return "server_error"
    return _TYPES.get(status, "invalid_request_error")


def is_openai_error(payload: Any) -> bool:
    """True for `{"error": {"message": ...}}`, the shape OpenAI clients understand."""
    if not isinstance(payload, dict):
        return False
    inner = payload.get("error")
    return isinstance(inner, dict) and isinstance(inner.get("message"), str)


def _detail_message(detail: Any) -> str | None:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):  # FastAPI validation errors: [{"loc": [...], "msg": "..."}]
        parts = []
        for item in detail:
            if isinstance(item, dict) and isinstance(item.get("msg"), str):
                loc = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
                parts.append(f"{loc}: {item['msg']}" if loc else item["msg"])
        return "; ".join(parts) or None
    return None


def _message_of(payload: dict[str, Any]) -> str | None:
    for key in ("message", "error"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value
    return _detail_message(payload.get("detail"))


def _code_of(status: int, payload: dict[str, Any], message: str) -> str | None:
    code = payload.get("code")
    if isinstance(code, str) and code:
        return code
    # Numeric codes only repeat the status. OpenAI marks an unknown model with its own code, which
    # clients test for; products say it in words (Ollama and vLLM with a 404, Xinference a 400).
    text = message.lower()
    if status in (400, 404) and "model" in text and ("not found" in text or "not exist" in text):
        return "model_not_found"
    return None


def normalize_error(status: int, body: bytes) -> bytes:
    """`body` in OpenAI's error shape; the same object when it already is."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        payload = None
    if is_openai_error(payload):
        return body
    fields = payload if isinstance(payload, dict) else {}
    message = _message_of(fields)
    if message is None:
        text = body.decode("utf-8", "replace").strip()
        message = text[:_MAX_TEXT] if text else f"upstream answered HTTP {status}"
    param = fields.get("param")
    return error_body(
        message,
        error_type(status),
        _code_of(status, fields, message),
        param if isinstance(param, str) else None,
    )
