"""The access log: one line per request, JSON or text, built straight to bytes.

No logging.Formatter: a dict through orjson (or one f-string) is several times cheaper per
request, and the line goes to a `LineWriter` thread, never to a blocking write on the loop.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from jairouter.config.observability import LogFormat
from jairouter.server.access_text import completion_text, prompt_of
from jairouter.server.log_writer import LineWriter
from jairouter.server.observe import Observation

# "000" to "999": a format spec (`:03d`) costs more than the rest of a timestamp together.
_MILLIS = [f"{ms:03d}" for ms in range(1000)]


class Clock:
    """ISO-8601 UTC timestamps with milliseconds; the date part is formatted once a second."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def now(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{_MILLIS[int((now - second) * 1000)]}Z"


class AccessLog:
    """Formats each finished request and hands the line to the writer thread."""

    def __init__(self, writer: LineWriter, fmt: LogFormat, *, include_text: bool) -> None:
        self.writer = writer
        self.keep_answer = include_text
        self._text = fmt == "text"
        self._clock = Clock()

    def write(self, seen: Observation, duration: float) -> None:
        fields = self.fields(seen, duration)
        line = _text_line(fields) if self._text else orjson.dumps(fields)
        self.writer.write(line + b"\n")

    def fields(self, seen: Observation, duration: float) -> dict[str, Any]:
        """The log record; every key always present (null when unknown), so queries are easy."""
        req, trace = seen.req, seen.trace
        attempts = trace.attempts
        fields: dict[str, Any] = {
            "time": self._clock.now(),
            "request_id": seen.request_id,
            "client": seen.client,
            "method": seen.method,
            "path": seen.path,
            "route": seen.route,
            "service": seen.service,  # a StrEnum: orjson writes its value
            "model": req.model if req is not None else None,
            "stream": req.stream if req is not None else None,
            "status": seen.status,
            "instance": trace.instance or None,
            "upstream_status": trace.upstream_status,
            "attempts": attempts,
            "retries": attempts - 1 if attempts > 1 else 0,
            "fallback": trace.fallback or None,
            "duration_ms": _ms(duration),
            "first_byte_ms": _ms(seen.first_byte) if seen.first_byte is not None else None,
            "bytes_sent": seen.sent,
            "prompt_tokens": trace.prompt_tokens,
            "completion_tokens": trace.completion_tokens,
            "error": trace.error or None,
        }
        if seen.span is not None:
            fields["trace_id"] = seen.span.trace_id
        if self.keep_answer:
            fields["prompt"] = prompt_of(req)
            stream = req is not None and req.stream
            answer = b"".join(seen.kept) if seen.kept is not None else None
            fields["completion"] = completion_text(answer, stream)
        return fields

    def reopen(self) -> None:
        self.writer.reopen()

    def stop(self) -> None:
        self.writer.stop()

    def wait_closed(self) -> None:
        self.writer.wait_closed()


def _ms(seconds: float) -> float:
    """Milliseconds to the microsecond; integer math, several times cheaper than round()."""
    return int(seconds * 1_000_000) / 1000


def _word(value: str | None) -> str:
    """`value` as one token of a text line: the client chose it, and a newline or space in
    it must not end the line or pass for another field, so such a value is JSON-quoted."""
    if not value:
        return "-"
    if value.isprintable() and " " not in value and '"' not in value:
        return value
    return orjson.dumps(value).decode()


def _quoted(value: str) -> str:
    """`value` fit to stand between quotes on a text line: a path is percent-decoded, so it
    can hold a newline or a quote; those are escaped as in JSON."""
    if value.isprintable() and '"' not in value:
        return value
    return orjson.dumps(value).decode()[1:-1]


def _text_line(f: dict[str, Any]) -> bytes:
    """One readable line, nginx-like: time, client, id, request, status, then what happened."""
    parts = [
        f'{f["time"]} {f["client"] or "-"} {f["request_id"]} "{f["method"]} {_quoted(f["path"])}" '
        f"{f['status']} {f['service'] or f['route'] or '-'}"
    ]
    if f["service"]:
        parts.append(f"model={_word(f['model'])}")
    if f["instance"]:
        parts.append(f"instance={f['instance']} upstream={f['upstream_status'] or '-'}")
    if f["retries"]:
        parts.append(f"retries={f['retries']}")
    if f["fallback"]:
        parts.append(f"fallback={f['fallback']}")
    parts.append(f"time={f['duration_ms']:.1f}ms")
    if f["first_byte_ms"] is not None and f["stream"]:
        parts.append(f"first_byte={f['first_byte_ms']:.1f}ms")
    parts.append(f"bytes={f['bytes_sent']}")
    if f["prompt_tokens"] is not None or f["completion_tokens"] is not None:
        parts.append(f"tokens={f['prompt_tokens'] or 0}+{f['completion_tokens'] or 0}")
    if "trace_id" in f:
        parts.append(f"trace={f['trace_id']}")
    if f["error"]:
        parts.append(f"error={orjson.dumps(f['error']).decode()}")
    if "prompt" in f:
        parts.append(f"prompt={orjson.dumps(f['prompt']).decode()}")
        parts.append(f"completion={orjson.dumps(f['completion']).decode()}")
    return " ".join(parts).encode("utf-8", "replace")
