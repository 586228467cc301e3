"""Ollama's NDJSON streams rewritten as OpenAI's server-sent events, chunk by chunk.

Ollama writes one JSON object per line, but the network cuts the bytes anywhere: a chunk may end
mid-line or carry several lines, so the unfinished tail is kept until its newline arrives. Each
event is the envelope built on the first line (id, created, model) around one freshly serialised
`choices` entry, so a token costs one `orjson.loads` and one small `orjson.dumps`.
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from typing import Any

import orjson

from jairouter.adapters.ollama_response import created_of, finish_reason, tool_calls, usage
from jairouter.errors import UpstreamBroken, error_body
from jairouter.types import ProxyRequest

EVENT_STREAM = "text/event-stream"
_DONE = b"data: [DONE]\n\n"
_NEWLINE = b"\n"


def _include_usage(req: ProxyRequest) -> bool:
    options = (req.payload or {}).get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


class _NdjsonToSse(ABC):
    """The line splitting, framing and ending shared by the chat and completion streams.

    Ends with `data: [DONE]` after Ollama's `done: true` line; or, when Ollama reports an error
    mid-stream, sends a malformed line or stops early, with one `data: {"error": ...}` event and no
    [DONE], so clients see a failure rather than a clean but truncated answer.
    """

    content_type = EVENT_STREAM
    object_name: str
    id_prefix: str

    def __init__(self, req: ProxyRequest) -> None:
        self._model = req.model
        self._include_usage = _include_usage(req)
        # OpenAI sends `"usage": null` on every chunk once the client asked for usage.
        self._tail = b'],"usage":null}\n\n' if self._include_usage else b"]}\n\n"
        self._head = b""  # `data: {...,"choices":[` once the first line fixed `created`
        self._pending: list[bytes] = []
        self._ended = False

    def feed(self, chunk: bytes) -> bytes:
        if self._ended:
            return b""
        last = chunk.rfind(_NEWLINE)
        if last == -1:
            self._pending.append(chunk)
            return b""
        complete = chunk[:last]
        if self._pending:
            self._pending.append(complete)
            complete = b"".join(self._pending)
            self._pending = []
        if last + 1 < len(chunk):
            self._pending.append(chunk[last + 1 :])
        return b"".join([self._line(line) for line in complete.split(_NEWLINE)])

    def finish(self) -> bytes:
        out = b""
        if self._pending and not self._ended:  # a last line without its newline
            out = self._line(b"".join(self._pending))
            self._pending = []
        if self._ended:
            return out
        early = UpstreamBroken("the model server's stream ended before it was complete")
        return out + self._end(early.body())

    def _line(self, line: bytes) -> bytes:
        if self._ended or not line.strip():
            return b""
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            obj = None
        if not isinstance(obj, dict):
            return self._end(UpstreamBroken("the model server sent a malformed stream line").body())
        if "error" in obj:  # Ollama's own report of a failure, e.g. the runner died
            return self._end(error_body(str(obj["error"]), "server_error"))
        out = b""
        if not self._head:
            self._open(obj)
            out = self.opening()
        out += self.delta(obj)
        if obj.get("done"):
            self._ended = True
            out += self.event(self.closing(obj))
            if self._include_usage:
                out += self._head + b'],"usage":' + orjson.dumps(usage(obj)) + b"}\n\n"
            out += _DONE
        return out

    def _open(self, obj: dict[str, Any]) -> None:
        envelope = {
            "id": f"{self.id_prefix}{secrets.token_hex(12)}",
            "object": self.object_name,
            "created": created_of(obj),
            "model": self._model,
            "system_fingerprint": None,
            "choices": [],
        }
        self._head = b"data: " + orjson.dumps(envelope)[:-2]  # cut `]}`, keep `"choices":[`

    def _end(self, error: bytes) -> bytes:
        """The event carrying `error`, after which the stream is over."""
        self._ended = True
        return b"data: " + error + b"\n\n"

    def event(self, choice: dict[str, Any]) -> bytes:
        """One SSE event carrying `choice` as the only entry of `choices`."""
        return self._head + orjson.dumps(choice) + self._tail

    def opening(self) -> bytes:
        """Events sent before the first delta."""
        return b""

    @abstractmethod
    def delta(self, obj: dict[str, Any]) -> bytes:
        """Events for the new output an Ollama line carries (possibly none)."""

    @abstractmethod
    def closing(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The last `choices` entry, carrying the finish reason."""


class ChatStream(_NdjsonToSse):
    """/api/chat NDJSON -> `chat.completion.chunk` events."""

    object_name = "chat.completion.chunk"
    id_prefix = "chatcmpl-"

    def __init__(self, req: ProxyRequest) -> None:
        super().__init__(req)
        self._tool_calls = 0

    def _choice(self, delta: dict[str, Any]) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}

    def opening(self) -> bytes:
        return self.event(self._choice({"role": "assistant", "content": ""}))

    def delta(self, obj: dict[str, Any]) -> bytes:
        message = obj.get("message")
        if not message:
            return b""
        out = b""
        if message.get("thinking"):
            out += self.event(self._choice({"reasoning": message["thinking"]}))
        if message.get("content"):
            out += self.event(self._choice({"content": message["content"]}))
        calls = message.get("tool_calls")
        if calls:
            delta = {"tool_calls": tool_calls(calls, self._tool_calls)}
            self._tool_calls += len(calls)
            out += self.event(self._choice(delta))
        return out

    def closing(self, obj: dict[str, Any]) -> dict[str, Any]:
        reason = finish_reason(obj, self._tool_calls > 0)
        return {"index": 0, "delta": {}, "logprobs": None, "finish_reason": reason}


class CompletionStream(_NdjsonToSse):
    """/api/generate NDJSON -> `text_completion` events."""

    object_name = "text_completion"
    id_prefix = "cmpl-"

    def delta(self, obj: dict[str, Any]) -> bytes:
        text = obj.get("response")
        if not text:
            return b""
        return self.event({"text": text, "index": 0, "logprobs": None, "finish_reason": None})

    def closing(self, obj: dict[str, Any]) -> dict[str, Any]:
        reason = finish_reason(obj, False)
        return {"text": "", "index": 0, "logprobs": None, "finish_reason": reason}
