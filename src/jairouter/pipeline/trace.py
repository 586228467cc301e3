"""What one request did on its way, for the access log and tracing.

The edge creates a `RequestTrace` only when the access log or tracing is on; the pipeline fills
it in as it goes (which instance answered, how many tries, tokens, fallbacks). With both off
there is none, and the pipeline's only cost is a `None` check per stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from multidict import CIMultiDict


class AttemptSpan(Protocol):
    """A tracing span around one upstream try."""

    headers: dict[str, str]
    """The W3C trace context headers naming this span (`traceparent`, and `tracestate` and
    `baggage` when the caller sent them), sent upstream."""

    def end(self, status: int | None, error: str | None) -> None: ...


class Spans(Protocol):
    """Starts the child spans of one request's span (server/tracing.py implements it)."""

    def attempt(self, instance: str, number: int) -> AttemptSpan: ...


class RequestTrace:
    """One request's record; plain slots written by the pipeline, read once at the end."""

    __slots__ = (
        "attempts",
        "completion_tokens",
        "error",
        "fallback",
        "instance",
        "prompt_tokens",
        "spans",
        "upstream_status",
    )

    def __init__(self, spans: Spans | None = None) -> None:
        self.spans = spans
        self.attempts = 0  # upstream tries; retries are attempts - 1
        self.instance = ""  # the last instance tried, `model@url`
        self.upstream_status: int | None = None  # its HTTP status, if it answered
        self.fallback = ""  # "model", "cache" or "static" when a fallback answered
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.error = ""  # why the router answered with an error or cut the answer

    def attempt(self, instance: str) -> AttemptSpan | None:
        """A try on `instance` begins; its span, when tracing is on."""
        self.attempts += 1
        self.instance = instance
        self.upstream_status = None
        return self.spans.attempt(instance, self.attempts) if self.spans is not None else None

    def upstream_headers(
        self, headers: Mapping[str, str], request_id: str, span: AttemptSpan | None
    ) -> Mapping[str, str]:
        """The adapter's headers plus the request id (and the trace context) for one try."""
        if span is None:
            return upstream_headers(headers, request_id)
        return {**headers, "X-Request-ID": request_id, **span.headers}

    def tokens(self, prompt: object, completion: object) -> None:
        if type(prompt) is int:  # booleans are not counts
            self.prompt_tokens = prompt
        if type(completion) is int:
            self.completion_tokens = completion


def upstream_headers(headers: Mapping[str, str], request_id: str) -> CIMultiDict[str]:
    """The adapter's (shared, never mutated) headers plus this request's id."""
    copy = CIMultiDict(headers)
    copy["X-Request-ID"] = request_id
    return copy
