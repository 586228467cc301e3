"""OpenAI request bodies rewritten for Ollama's native API (/api/chat, /api/generate, /api/embed).

The mapping follows Ollama's own OpenAI layer (ollama/ollama, openai/openai.go).

Malformed input that Ollama could not take raises `BadRequest`, which the client sees as a 400 in
OpenAI's shape, just as OpenAI would answer it.
"""

from __future__ import annotations

from typing import Any

import orjson

from jairouter.errors import BadRequest

# OpenAI sampling fields that Ollama takes under `options` with the same name and meaning.
_SAME_OPTIONS = ("temperature", "top_p", "seed", "frequency_penalty", "presence_penalty")
# Ollama's OpenAI layer sends OpenAI's own defaults when a field is absent, instead of letting the
# Modelfile's apply; a client cannot tell the difference only if we do the same.
_OPENAI_DEFAULTS = {"temperature": 1.0, "top_p": 1.0}
_EFFORTS = ("low", "medium", "high")
_BASE64_MARKER = ";base64,"


def _options(payload: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = dict(_OPENAI_DEFAULTS)
    for key in _SAME_OPTIONS:
        value = payload.get(key)
        if value is not None:
            options[key] = value
    limit = payload.get("max_completion_tokens")
    if limit is None:
        limit = payload.get("max_tokens")
    if limit is not None:
        options["num_predict"] = limit
    stop = payload.get("stop")
    if isinstance(stop, str):
        options["stop"] = [stop]
    elif isinstance(stop, list):
        if not all(isinstance(s, str) for s in stop):
            raise BadRequest("'stop' must be a string or a list of strings", param="stop")
        options["stop"] = stop
    return options


def _image(part: dict[str, Any]) -> str:
    """The base64 data of an `image_url` content part: Ollama takes images inline only."""
    ref = part.get("image_url")
    url = ref.get("url") if isinstance(ref, dict) else ref
    if isinstance(url, str) and url.startswith("data:"):
        _, marker, data = url.partition(_BASE64_MARKER)
        if marker and data:
            return data
    raise BadRequest(
        "image_url must be a base64 data: URL (data:image/png;base64,...) for this model",
        param="messages",
    )


def _content(content: Any) -> tuple[str, list[str]]:
    """Text and images of an OpenAI message's content (a string or a list of parts)."""
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        raise BadRequest("message content must be a string or a list of parts", param="messages")
    texts: list[str] = []
    images: list[str] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url":
            images.append(_image(part))
        else:
            raise BadRequest(f"unsupported content part type {kind!r}", param="messages")
    # Joined with newlines, as vLLM renders text parts for string-only chat templates.
    return "\n".join(texts), images


def _tool_calls(calls: Any) -> list[dict[str, Any]]:
    """OpenAI tool calls (arguments as a JSON string) as Ollama's (arguments as an object)."""
    converted = []
    for call in calls:
        function = call.get("function") or {}
        arguments = function.get("arguments") or "{}"
        try:
            parsed = orjson.loads(arguments) if isinstance(arguments, str) else arguments
        except orjson.JSONDecodeError:
            message = "tool call arguments must be a JSON object"
            raise BadRequest(message, param="messages") from None
        converted_call: dict[str, Any] = {
            "function": {"name": function.get("name"), "arguments": parsed}
        }
        if call.get("id"):
            converted_call["id"] = call["id"]
        converted.append(converted_call)
    return converted


def _tool_names(messages: list[Any]) -> dict[str, str]:
    """Function name of every tool call id in the history, so tool results can name their tool."""
    names = {}
    for message in messages:
        for call in message.get("tool_calls") or ():
            if call.get("id"):
                names[call["id"]] = (call.get("function") or {}).get("name", "")
    return names


def _messages(messages: Any) -> list[dict[str, Any]]:
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise BadRequest("'messages' must be a list of message objects", param="messages")
    tool_names = _tool_names(messages)
    converted = []
    for message in messages:
        role = message.get("role")
        text, images = _content(message.get("content"))
        # Ollama's templates know system/user/assistant/tool; `developer` is OpenAI's new system.
        out: dict[str, Any] = {"role": "system" if role == "developer" else role, "content": text}
        if images:
            out["images"] = images
        if message.get("tool_calls"):
            out["tool_calls"] = _tool_calls(message["tool_calls"])
        if role == "tool":
            name = message.get("name") or tool_names.get(message.get("tool_call_id", ""))
            if name:
                out["tool_name"] = name
        converted.append(out)
    return converted


def _format(response_format: Any) -> Any:
    """Ollama's `format`: "json" for JSON mode, the schema itself for structured outputs."""
    if not isinstance(response_format, dict):
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return "json"
    if kind == "json_schema":
        return (response_format.get("json_schema") or {}).get("schema")
    return None


def chat_request(payload: dict[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI chat completion request as an Ollama /api/chat request."""
    body: dict[str, Any] = {
        "model": model,
        "messages": _messages(payload.get("messages")),
        # Ollama streams unless told otherwise; OpenAI does not.
        "stream": payload.get("stream") is True,
        "options": _options(payload),
    }
    fmt = _format(payload.get("response_format"))
    if fmt is not None:
        body["format"] = fmt
    if payload.get("tools"):
        body["tools"] = payload["tools"]  # OpenAI's tool schema is Ollama's
    effort = payload.get("reasoning_effort")
    if effort == "none":
        body["think"] = False
    elif effort in _EFFORTS:
        body["think"] = effort
    return body


def generate_request(payload: dict[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI (legacy) completion request as an Ollama /api/generate request."""
    prompt = payload.get("prompt", "")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise BadRequest("this model takes a single string prompt", param="prompt")
    body: dict[str, Any] = {
        "model": model,
        "prompt": prompt,
        "stream": payload.get("stream") is True,
        "options": _options(payload),
    }
    if isinstance(payload.get("suffix"), str):
        body["suffix"] = payload["suffix"]
    return body


def embed_request(payload: dict[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI embeddings request as an Ollama /api/embed request."""
    given = payload.get("input")
    if not (
        isinstance(given, str)
        or (isinstance(given, list) and given and all(isinstance(s, str) for s in given))
    ):
        raise BadRequest("'input' must be a string or a list of strings", param="input")
    body: dict[str, Any] = {"model": model, "input": given}
    if payload.get("dimensions") is not None:
        body["dimensions"] = payload["dimensions"]
    return body
