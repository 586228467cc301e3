"""The access log: one line per request, JSON or text, built straight to bytes.

No logging.Formatter: a dict through orjson (or one f-string) is several times cheaper per
request, and the line goes to a `LineWriter` thread, never to a blocking write on the loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from jairouter.config.observability import LogFormat
from jairouter.server.access_text import completion_text, prompt_of
from jairouter.server.log_writer import LineWriter
from jairouter.server.observe import Observation

# "000" to "999": a format spec (`:03d`) costs more than the rest of a timestamp together.
_MILLIS = [f"{ms:03d}" for ms in range(1000)]


class Clock:
    """ISO-8601 UTC timestamps with milliseconds. The date part is formatted once a second,
    and under load, where several lines end within one millisecond, they share one stamp."""

    __slots__ = ("_milli", "_prefix", "_second", "_stamp", "_wall")

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._second = self._milli = -1
        self._prefix = self._stamp = ""

    def now(self) -> str:
        milli = int(self._wall() * 1000)
        if milli == self._milli:
            return self._stamp
        self._milli = milli
        second = milli // 1000
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        self._stamp = stamp = f"{self._prefix}.{_MILLIS[milli - second * 1000]}Z"
        return stamp


class AccessLog:
    """Formats each finished request and hands the line to the writer thread."""

    def __init__(self, writer: LineWriter, fmt: LogFormat, *, include_text: bool) -> None:
        self.writer = writer
        self.keep_answer = include_text
        self._text = fmt == "text"
        self._clock = Clock()

    def write(self, seen: Observation, duration: float) -> None:
        if self._text:
            line = self._text_line(seen, duration)
        else:
            line = orjson.dumps(self.fields(seen, duration), option=orjson.OPT_APPEND_NEWLINE)
        self.writer.write(line)

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
            fields["completion"] = self._completion(seen)
        return fields

    def _completion(self, seen: Observation) -> str | None:
        stream = seen.req is not None and seen.req.stream
        answer = b"".join(seen.kept) if seen.kept is not None else None
        return completion_text(answer, stream)

    def _text_line(self, seen: Observation, duration: float) -> bytes:
        """One readable line, nginx-like: time, client, id, request, status, then what happened.

        Built straight from the observation (no fields dict) with the fewest string operations:
        this is the default format and runs for every request.
        """
        req, trace, service = seen.req, seen.trace, seen.service
        # A proxied endpoint's path is the router's own constant: only others need quoting.
        path = seen.path if service else _quoted(seen.path)
        line = (
            f"{self._clock.now()} {seen.client or '-'} {seen.request_id} "
            f'"{seen.method} {path}" {seen.status} {service or seen.route or "-"}'
        )
        if service:
            line += f" model={_word(req.model if req is not None else None)}"
        if trace.instance:
            line += f" instance={trace.instance} upstream={trace.upstream_status or '-'}"
        if trace.attempts > 1:
            line += f" retries={trace.attempts - 1}"
        if trace.fallback:
            line += f" fallback={trace.fallback}"
        # Tenths of a millisecond by integer maths: a `:.1f` format spec costs more.
        tenths = int(duration * 10_000 + 0.5)
        line += f" time={tenths // 10}.{tenths % 10}ms"
        if seen.first_byte is not None and req is not None and req.stream:
            tenths = int(seen.first_byte * 10_000 + 0.5)
            line += f" first_byte={tenths // 10}.{tenths % 10}ms"
        line += f" bytes={seen.sent}"
        if trace.prompt_tokens is not None or trace.completion_tokens is not None:
            line += f" tokens={trace.prompt_tokens or 0}+{trace.completion_tokens or 0}"
        if seen.span is not None:
            line += f" trace={seen.span.trace_id}"
        if trace.error:
            line += f" error={orjson.dumps(trace.error).decode()}"
        if self.keep_answer:
            prompt = orjson.dumps(prompt_of(req)).decode()
            completion = orjson.dumps(self._completion(seen)).decode()
            line += f" prompt={prompt} completion={completion}"
        return (line + "\n").encode("utf-8", "replace")

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
